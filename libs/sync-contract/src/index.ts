export * from './conflict-resolver';
export * from './decision';
export * from './rules/rules';
export * from './rules/validate-dto';
export * from './sync-change';
export * from './sync-entity.decorator';
export * from './synced-row.entity';
export * from './synced-table.migration';
