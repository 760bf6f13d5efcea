import fs from 'node:fs';

export interface UserIds {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

/** Looks a user up in /etc/passwd (name or numeric uid). Returns null when unknown. */
export function lookupUser(nameOrUid: string, passwdFile = '/etc/passwd'): UserIds | null {
  let text: string;
  try {
    text = fs.readFileSync(passwdFile, 'utf8');
  } catch {
    return null;
  }
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length < 7) continue;
    const [name, , uid, gid, , home] = f;
    if (name === nameOrUid || uid === nameOrUid) {
      return { name: name!, uid: Number(uid), gid: Number(gid), home: home ?? '/' };
    }
  }
  return null;
}
