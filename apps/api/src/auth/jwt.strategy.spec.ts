import { canonicalFamilyId } from './jwt.strategy';

describe('canonicalFamilyId', () => {
  it.each<[string | undefined, string | undefined]>([
    ['0A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D', '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d'],
    ['0a1b2c3d-4e5f-4a6b-8c7d-9E0F1A2B3C4D', '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d'],
    ['0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d', '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d'],
    // Not a UUID: no family has it; kept as it is, so membership refuses it by its own value.
    ['Family-One', 'Family-One'],
    [undefined, undefined],
  ])('%p is %p', (familyId, canonical) => {
    expect(canonicalFamilyId(familyId)).toBe(canonical);
  });
});
