/** The verified identity of a request: the token's `sub` and, when present, its `familyId`. */
export interface Caller {
  userId: string;
  familyId?: string;
}
