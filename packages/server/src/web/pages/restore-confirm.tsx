import { RelTime } from '../components/ui.js';

/** What RestoreService.preview answers, as the confirm step shows it. */
export interface RestorePreview {
  source: { id: string; name: string };
  target: { id: string; name: string; online: boolean };
  snapshot: { id: string; short_id: string; time: string; paths: string[] };
  restore_to: 'original' | 'directory';
  target_dir: string;
  include: string[];
  remap: { from: string; to: string }[];
  verify: boolean;
  parts: { target: string; include: string[]; exclude: string[]; move?: { from: string; to: string } }[];
  credential: 'own' | 'temporary_key' | 'stored_credential';
  credential_reason: string;
  /** Permanent secrets of the source the target would receive: refused unless an admin confirms a one-off. */
  shares: ('repository_password' | 'rest_login')[];
}

const sharedWords = (shares: RestorePreview['shares']): string => shares.map((x) => (x === 'rest_login' ? 'REST login' : 'repository password')).join(' and ');

/** The hidden fields that carry the reviewed body to the submit, exactly as reviewed. */
function Carry(props: { p: RestorePreview }) {
  const p = props.p;
  return (
    <>
      <input type="hidden" name="snapshot_id" value={p.snapshot.id} />
      <input type="hidden" name="target_host_id" value={p.target.id} />
      <input type="hidden" name="restore_to" value={p.restore_to} />
      {p.restore_to === 'directory' ? <input type="hidden" name="target" value={p.target_dir} /> : null}
      {p.include.map((i) => <input type="hidden" name="include" value={i} />)}
      {p.remap.map((r, i) => (
        <>
          <input type="hidden" name={`remap.${i}.from`} value={r.from} />
          <input type="hidden" name={`remap.${i}.to`} value={r.to} />
        </>
      ))}
      {p.verify ? <input type="hidden" name="verify" value="true" /> : null}
    </>
  );
}

/** Step 4: exactly what will happen, and the button that does it. */
export function RestoreConfirm(props: { p: RestorePreview; admin: boolean }) {
  const admin = props.admin;
  const p = props.p;
  const cross = p.source.id !== p.target.id;
  return (
    <section class="card" id="restore-summary" aria-labelledby="rs-confirm">
      <div class="card-head"><h2 id="rs-confirm">4. Confirm</h2></div>
      <div class="card-body stack">
        <dl class="kv">
          <dt>Snapshot</dt>
          <dd><span class="mono">{p.snapshot.short_id}</span> of {p.source.name}, <RelTime iso={p.snapshot.time} /> ({p.snapshot.paths.join(', ')})</dd>
          <dt>Onto host</dt>
          <dd>{p.target.name}{cross ? ' (another host)' : ' (the same host)'}{p.target.online ? '' : ' — offline: the job waits until its agent connects'}</dd>
          <dt>What</dt>
          <dd>{p.include.length ? p.include.map((i) => <div class="mono">{i}</div>) : 'the whole snapshot'}</dd>
        </dl>
        <div>
          <strong>restic will run {p.parts.length === 1 ? 'once' : `${p.parts.length} times`}:</strong>
          <ol class="restore-steps">
            {p.parts.map((part) => (
              <li>
                {part.move ? (
                  <><span class="mono">{part.move.from}</span> goes to <span class="mono">{part.move.to}</span> (restored into a staging directory next to it, then moved into place)</>
                ) : (
                  <>{part.include.length ? part.include.map((i, n) => <>{n ? ', ' : ''}<span class="mono">{i}</span></>) : 'everything'}{part.exclude.length ? <> except {part.exclude.map((e, n) => <>{n ? ', ' : ''}<span class="mono">{e}</span></>)}</> : null}
                    {' '}goes to {part.target === '/' ? <>its original location</> : <><span class="mono">{part.target}</span>/&lt;original path&gt;</>}</>
                )}
              </li>
            ))}
          </ol>
        </div>
        <div class="alert-box warn" id="restore-overwrite-confirm">
          Existing files at {p.restore_to === 'original' ? 'the original location' : 'the destination'} are <strong>overwritten</strong> with the snapshot's version (restic 0.14); files that are not in the snapshot are left alone. The restore runs as root on {p.target.name}.
        </div>
        {cross && !p.shares.length ? (
          <div class="alert-box info" id="restore-credential">{p.source.name} adds a temporary key to its repository for this job; {p.target.name} uses it for this one job (never stored there) and the key is removed as soon as the job ends.</div>
        ) : null}
        {cross && p.shares.length ? (
          <div class="alert-box warn" id="restore-credential">
            No temporary credential covers this restore ({p.credential_reason}): {p.target.name} would need {p.source.name}'s <strong>permanent</strong> {sharedWords(p.shares)}, so the restore is refused
            {admin ? <> unless you confirm a one-off below. The audit log records it and {p.source.name} is marked "credential needs rotation" until its credentials are replaced.</> : <>. Ask an admin to confirm a one-off, or remove the cause above and review again.</>}
          </div>
        ) : null}
        <form class="form-actions" hx-post={`/hosts/${p.target.id}/restore`} novalidate>
          <Carry p={p} />
          <input type="hidden" name="source_host_id" value={p.source.id} />
          {cross && p.shares.length && admin ? (
            <label class="check" id="restore-share-credential">
              <input type="checkbox" name="share_source_credential" value="true" /> Send {p.source.name}'s permanent {sharedWords(p.shares)} to {p.target.name} for this one job (admin one-off, audited; rotate it afterwards)
            </label>
          ) : null}
          <button class="btn primary" type="submit" id="restore-submit">Restore now</button>
          <span class="muted">Change anything above and press Review again to update this summary.</span>
        </form>
      </div>
    </section>
  );
}
