/**
 * "Agent N versions behind the server" (spec §4.2), with semver: versions are
 * `MAJOR.MINOR.PATCH` (an optional leading `v`; `-pre` and `+build` suffixes are ignored for
 * counting). What is counted, from the first part that differs:
 * - a lower MAJOR: `major_behind`, N = the difference of the majors;
 * - same major, lower MINOR: `behind`, N = the difference of the minors (minor releases, assuming
 *   they are numbered consecutively; patch releases in between are not counted);
 * - same major and minor, lower PATCH: `behind`, N = the difference of the patches;
 * - same core, the agent a pre-release and the server not: `behind`, N = 0 ("pre-release");
 * - equal: `current`; higher: `ahead`; missing or not semver: `unknown`.
 * The count is what the version numbers say, not a count of published releases: the server
 * has no release list (updates come from the OS package manager).
 */
export interface AgentVersionStatus {
  state: 'current' | 'behind' | 'major_behind' | 'ahead' | 'unknown';
  /** How many versions of `unit` the agent is behind (0 unless behind). */
  behind: number;
  unit: 'major' | 'minor' | 'patch' | 'prerelease' | null;
  /** Short text for the UI: "2 minor versions behind", "up to date", … */
  label: string;
}

const SEMVER = /^v?(\d{1,9})\.(\d{1,9})\.(\d{1,9})(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/;

export function parseSemver(v: string | null | undefined): { major: number; minor: number; patch: number; pre: boolean } | null {
  const m = v ? SEMVER.exec(v.trim()) : null;
  if (!m) return null;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]), pre: m[4] !== undefined };
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'} behind`;

export function agentVersionStatus(agent: string | null | undefined, server: string): AgentVersionStatus {
  const a = parseSemver(agent);
  const s = parseSemver(server);
  if (!a || !s) return { state: 'unknown', behind: 0, unit: null, label: agent ? `version ${agent} not comparable` : 'agent version unknown' };
  const parts = [['major', a.major, s.major], ['minor', a.minor, s.minor], ['patch', a.patch, s.patch]] as const;
  for (const [unit, av, sv] of parts) {
    if (av < sv) {
      const n = sv - av;
      if (unit === 'major') return { state: 'major_behind', behind: n, unit, label: plural(n, 'major version') };
      return { state: 'behind', behind: n, unit, label: plural(n, unit === 'minor' ? 'minor version' : 'patch release') };
    }
    if (av > sv) return { state: 'ahead', behind: 0, unit: null, label: 'newer than the server' };
  }
  if (a.pre && !s.pre) return { state: 'behind', behind: 0, unit: 'prerelease', label: `pre-release of ${server}` };
  return { state: 'current', behind: 0, unit: null, label: 'up to date' };
}

export const isOutdated = (s: AgentVersionStatus): boolean => s.state === 'behind' || s.state === 'major_behind';
