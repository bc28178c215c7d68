import { Injectable } from '@nestjs/common';
import type { DeviceDto } from './dto/device.dto';
import { SyncDeviceRepository } from './sync-device.repository';

/** GET /sync/devices: the family's devices, most recently seen first. */
@Injectable()
export class SyncDeviceService {
  constructor(private readonly devices: SyncDeviceRepository) {}

  list(familyId: string): Promise<DeviceDto[]> {
    return this.devices.list(familyId);
  }
}
