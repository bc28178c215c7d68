import { Injectable } from '@nestjs/common';
import type { DeviceDto } from './device.dto';
import type { DeviceHistoryEntryDto } from './device-history.dto';

const DEFAULT_HISTORY = 50;
import { SyncDeviceRepository } from './sync-device.repository';

/** GET /sync/devices: the family's devices, most recently seen first. */
@Injectable()
export class SyncDeviceService {
  constructor(private readonly devices: SyncDeviceRepository) {}

  list(familyId: string): Promise<DeviceDto[]> {
    return this.devices.list(familyId);
  }

  /**
   * GET /sync/devices/:deviceId/history: always within the caller's family. A device id of
   * another family is not told apart from one that never synced (an empty list): a family's
   * device ids are not another family's business.
   */
  history(familyId: string, deviceId: string, limit = DEFAULT_HISTORY): Promise<DeviceHistoryEntryDto[]> {
    return this.devices.history(familyId, deviceId, limit);
  }
}
