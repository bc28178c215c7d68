/**
 * Announced by the member-removal transaction (NOTIFY, delivered on commit) so that every
 * instance closes the removed user's realtime streams of that family.
 */
export const MEMBER_REMOVED_CHANNEL = 'family_member_removed';

export interface MemberRemovedNotice {
  /** family id */
  f: string;
  /** removed user id */
  u: string;
}
