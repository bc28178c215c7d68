import { Injectable, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { DiscoveryService, Reflector } from '@nestjs/core';
import type { AppConfig } from '@app/config';
import { ConflictResolver, Lane, SYNC_BATCH_HOOK, SYNC_ENTITY, SyncBatchHook } from '@app/sync-contract';

export interface RegisteredEntity {
  type: string;
  resolver: ConflictResolver;
  /** Its sync lane (PROTOCOL 2.9): SYNC_TYPE_PRIORITIES, else the resolver's, else 1. */
  lane: Lane;
}

/**
 * Finds every provider marked `@SyncEntity(type)` at start-up. Nest keeps only the last of
 * several providers with one token, so the entity types are discovered instead, and the
 * start fails on a duplicate type, on a resolver without a table, when none is found, or
 * when SYNC_TYPE_PRIORITIES names a type that is not registered.
 */
@Injectable()
export class SyncRegistry implements OnModuleInit {
  private readonly byType = new Map<string, RegisteredEntity>();
  private readonly typeByTable = new Map<string, string>();
  private readonly batchHooks: SyncBatchHook[] = [];

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly reflector: Reflector,
    private readonly config: ConfigService<AppConfig, true>,
  ) {}

  onModuleInit(): void {
    for (const wrapper of this.discovery.getProviders()) {
      if (!wrapper.metatype || !wrapper.instance) continue;
      if (this.reflector.get<boolean | undefined>(SYNC_BATCH_HOOK, wrapper.metatype)) {
        this.batchHooks.push(wrapper.instance as SyncBatchHook);
      }
      const type = this.reflector.get<string | undefined>(SYNC_ENTITY, wrapper.metatype);
      if (!type) continue;
      const resolver = wrapper.instance as ConflictResolver;
      if (this.byType.has(type)) throw new Error(`two ConflictResolvers are registered for entity type "${type}"`);
      if (!/^[a-z_][a-z0-9_]*$/.test(resolver.table ?? '')) {
        throw new Error(`the ConflictResolver of "${type}" must name its table (got ${String(resolver.table)})`);
      }
      if (this.typeByTable.has(resolver.table)) throw new Error(`two entity types are stored in table "${resolver.table}"`);
      this.byType.set(type, { type, resolver, lane: resolver.lane ?? 1 });
      this.typeByTable.set(resolver.table, type);
    }
    if (this.byType.size === 0) throw new Error('no entity type is registered: import the entity modules');
    for (const [type, lane] of Object.entries(this.config.get('sync', { infer: true }).typePriorities)) {
      const entity = this.byType.get(type);
      if (!entity)
        throw new Error(
          `SYNC_TYPE_PRIORITIES names "${type}", which is not a registered entity type (${[...this.byType.keys()].join(', ')})`,
        );
      entity.lane = lane as Lane;
    }
  }

  /** The sync lane of a registered type (PROTOCOL 2.9); an unknown type goes last. */
  laneOf(type: string): Lane {
    return this.byType.get(type)?.lane ?? 2;
  }

  find(type: string): ConflictResolver | undefined {
    return this.byType.get(type)?.resolver;
  }

  /** The entity type stored in a table (a registered table; anything else is a bug). */
  typeOf(table: string): string {
    const type = this.typeByTable.get(table);
    if (type === undefined) throw new Error(`no entity type is stored in table "${table}"`);
    return type;
  }

  all(): RegisteredEntity[] {
    return [...this.byType.values()];
  }

  /** Providers marked `@SyncHook()`, run inside every write transaction. */
  hooks(): readonly SyncBatchHook[] {
    return this.batchHooks;
  }
}
