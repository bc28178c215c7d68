import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { DataSource } from 'typeorm';

@Injectable()
export class MigrationsHealthIndicator {
  constructor(
    private readonly dataSource: DataSource,
    private readonly health: HealthIndicatorService,
  ) {}

  /** Up when every migration the code knows is recorded as applied in the database. */
  async isHealthy(key = 'migrations') {
    const indicator = this.health.check(key);
    try {
      const applied: { name: string }[] = await this.dataSource.query(`SELECT name FROM ${this.table()}`);
      const done = new Set(applied.map((row) => row.name));
      const pending = this.dataSource.migrations.map((m) => m.name).filter((name): name is string => !!name && !done.has(name));
      return pending.length === 0 ? indicator.up() : indicator.down({ pending });
    } catch (error) {
      return indicator.down({ message: error instanceof Error ? error.message : String(error) });
    }
  }

  private table(): string {
    return this.dataSource.options.migrationsTableName ?? 'migrations';
  }
}
