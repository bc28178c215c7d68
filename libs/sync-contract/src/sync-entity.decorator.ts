import { applyDecorators, Injectable, SetMetadata } from '@nestjs/common';

export const SYNC_ENTITY = 'sync:entityType';

/**
 * Marks a provider as the ConflictResolver of an entity type. The sync registry discovers
 * every marked provider at start-up and refuses to start on a duplicate type.
 */
export const SyncEntity = (entityType: string) => applyDecorators(Injectable(), SetMetadata(SYNC_ENTITY, entityType));
