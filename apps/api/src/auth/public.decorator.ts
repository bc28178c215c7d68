import { SetMetadata } from '@nestjs/common';

export const IS_PUBLIC = 'auth:isPublic';

/** Opts a route out of the global JWT guard (health, metrics, API docs). */
export const Public = () => SetMetadata(IS_PUBLIC, true);
