import { EntityState } from '../sync-change';
import { liveState, t } from '@app/testing/resolver-fixtures';

/** Server state of the rules' merge tables: every field written at t(10), except points at t(20). */
export const server = (): EntityState =>
  liveState(
    { title: 'Server title', status: 'open', points: 5, assignees: ['u1'], desc: null },
    { title: t(10), status: t(10), points: t(20), assignees: t(10), desc: t(10) },
    3,
  );
