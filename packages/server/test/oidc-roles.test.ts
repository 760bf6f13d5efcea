import { describe, expect, it } from 'vitest';
import { mapRole } from '../src/services/oidc.service.js';

const cfg = { roleClaim: 'groups', groups: { admin: ['rm-admins'], operator: ['ops', 'oncall'], viewer: ['staff'] }, defaultRole: null };

describe('role from the groups claim', () => {
  it.each<[string, unknown, string | null]>([
    ['the highest matching role wins', ['staff', 'oncall', 'rm-admins'], 'admin'],
    ['any listed group of a role matches', ['oncall'], 'operator'],
    ['viewer', ['staff'], 'viewer'],
    ['no matching group', ['sales'], null],
    ['an absent claim', undefined, null],
    ['a space/comma separated string claim', 'sales ops', 'operator'],
    ['non-string members are ignored', [42, { name: 'rm-admins' }, 'staff'], 'viewer'],
    ['group names are case-sensitive', ['RM-ADMINS'], null],
  ])('%s', (_name, groups, role) => {
    expect(mapRole(groups === undefined ? {} : { groups }, cfg)).toBe(role);
  });

  it('falls back to RM_OIDC_DEFAULT_ROLE and reads the configured claim', () => {
    expect(mapRole({ groups: ['sales'] }, { ...cfg, defaultRole: 'viewer' })).toBe('viewer');
    expect(mapRole({ roles: ['rm-admins'], groups: ['staff'] }, { ...cfg, roleClaim: 'roles' })).toBe('admin');
  });
});
