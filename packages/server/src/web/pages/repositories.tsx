import type { Child } from 'hono/jsx';
import type { HostRepositoryView, RepoTestResult, RepositoryBackend, RepositoryView } from '@restic-manager/protocol';
import { fmtBytes, fmtCount } from '../components/format.js';
import type { Viewer } from '../components/layout.js';
import { Layout, PageHead, canOperate, isAdmin } from '../components/layout.js';
import { Badge, CodeBlock, Empty, Field, Pager, RelTime } from '../components/ui.js';
import type { CredentialField } from '../repository-form.js';
import { BACKENDS, CREDENTIAL_FIELDS, isSecretField } from '../repository-form.js';
import { FrozenBanner } from './repository-ledger.js';

/*
 * Repositories as their own objects (issue 15): the fleet list with an add form, one
 * repository's edit page, the "Test connection" answer, and the host page's repositories card.
 * Secret fields are never pre-filled: a stored one shows the placeholder "set" and an empty
 * input keeps it.
 */

export interface RepositoryListItem extends RepositoryView {
  hosts: { id: string; name: string }[];
}

export function RepositoriesPage(props: { viewer: Viewer; page: { items: RepositoryListItem[]; total: number; limit: number; offset: number } }) {
  const p = props.page;
  return (
    <Layout title="Repositories" viewer={props.viewer} active="repos">
      <PageHead title="Repositories" sub={<>{fmtCount(p.total)} repositories · <a href="/repos">locks and checks</a> · <a href="/copies">copies (3-2-1)</a></>} />
      <div class="stack">
        <section class="card" id="repositories">
          {p.items.length === 0 ? (
            <Empty title="No repositories yet">Add one below, or add a host: its repository is recorded when its agent enrolls.</Empty>
          ) : (
            <div class="table-wrap">
              <table>
                <thead>
                  <tr><th>Repository</th><th>Backend</th><th class="hide-sm">Engine</th><th>Hosts</th><th class="num">Size</th><th class="num">Snapshots</th><th></th></tr>
                </thead>
                <tbody>
                  {p.items.map((r) => (
                    <tr data-repository={r.id}>
                      <td><a href={`/repositories/${r.id}`}>{r.name}</a>{r.frozen_since ? <> <Badge tone="danger" title={r.frozen_reason ?? ''}>frozen</Badge></> : null}<div class="mono host-sub" style="overflow-wrap:anywhere">{r.url}</div></td>
                      <td><Badge tone="neutral" plain>{r.backend}</Badge></td>
                      <td class="hide-sm">{r.engine}</td>
                      <td>{r.hosts.map((h, i) => <>{i > 0 ? ', ' : ''}<a href={`/hosts/${h.id}/repo`}>{h.name}</a></>)}{r.hosts.length === 0 ? <span class="faint">—</span> : null}</td>
                      <td class="num">{fmtBytes(r.size_bytes)}</td>
                      <td class="num">{fmtCount(r.snapshot_count)}</td>
                      <td>{isAdmin(props.viewer) ? <TestButton id={r.id} /> : null}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          <Pager total={p.total} limit={p.limit} offset={p.offset} href={(o) => `/repositories?offset=${o}`} />
        </section>
        {isAdmin(props.viewer) ? (
          <section class="card" id="add-repository">
            <div class="card-head"><h2>Add repository</h2></div>
            <div class="card-body"><RepositoryForm repository={null} /></div>
          </section>
        ) : null}
      </div>
    </Layout>
  );
}

export function RepositoryPage(props: { viewer: Viewer; repository: RepositoryView; hosts: { id: string; name: string }[]; ledger?: Child; maintenance?: Child }) {
  const r = props.repository;
  return (
    <Layout title={r.name} viewer={props.viewer} active="repos">
      <PageHead title={r.name} crumbs={[{ label: 'Repositories', href: '/repositories' }]} sub={<span class="mono">{r.url}</span>}
        actions={isAdmin(props.viewer) ? <TestButton id={r.id} /> : null} />
      <div class="stack">
        <FrozenBanner viewer={props.viewer} repository={r} />
        <section class="card">
          <div class="card-body">
            <dl class="kv">
              <dt>Backend</dt><dd>{r.backend}</dd>
              <dt>Engine</dt><dd>{r.engine}</dd>
              <dt>Hosts</dt><dd>{props.hosts.length ? props.hosts.map((h, i) => <>{i > 0 ? ', ' : ''}<a href={`/hosts/${h.id}/repo`}>{h.name}</a></>) : <span class="faint">none</span>}</dd>
              <dt>Size</dt><dd>{fmtBytes(r.size_bytes)}</dd>
              <dt>Snapshots</dt><dd>{fmtCount(r.snapshot_count)}</dd>
              <dt>Password</dt><dd>{r.password_set ? 'set' : 'not set'}</dd>
              <dt>Access</dt><dd>{r.append_only ? <Badge tone="ok" plain>append-only</Badge> : <Badge tone="warn" plain>full</Badge>}</dd>
            </dl>
          </div>
        </section>
        {props.ledger ?? null}
        {props.maintenance ?? null}
        {isAdmin(props.viewer) ? (
          <section class="card" id="edit-repository">
            <div class="card-head"><h2>Edit</h2></div>
            <div class="card-body"><RepositoryForm repository={r} /></div>
          </section>
        ) : null}
      </div>
    </Layout>
  );
}

/** The "Test connection" button; the answer replaces the slot next to it. */
export function TestButton(props: { id: string }) {
  return (
    <span class="nowrap">
      <button class="btn small" type="button" hx-post={`/repositories/${props.id}/test`} hx-target={`#test-${props.id}`} hx-swap="innerHTML" data-test-repository={props.id}>Test connection</button>{' '}
      <span id={`test-${props.id}`} aria-live="polite"></span>
    </span>
  );
}

const KIND_TEXT: Record<string, string> = {
  wrong_password: 'wrong repository password', wrong_credentials: 'the backend refused the credentials', unknown_bucket: 'no such bucket or container',
  tls: 'TLS certificate problem', host_key_mismatch: 'SSH host key does not match known_hosts', unreachable: 'the backend is unreachable',
  not_initialised: 'no repository at this location yet', no_agent: 'no agent online to test from', failed: 'failed',
};

/** The specific answer of a connection test. */
export function TestResult(props: { result: RepoTestResult }) {
  const r = props.result;
  if (r.ok) {
    return <Badge tone="ok">{r.empty ? 'reachable, empty' : `ok · ${fmtCount(r.snapshot_count)} snapshots`}</Badge>;
  }
  return (
    <span data-error-kind={r.error_kind ?? 'failed'}>
      <Badge tone={r.error_kind === 'no_agent' ? 'warn' : 'danger'}>{KIND_TEXT[r.error_kind ?? 'failed'] ?? r.error_kind}</Badge>
      {r.error ? <span class="muted"> {r.error}</span> : null}
    </span>
  );
}

/** Shown once after a repository was created with a generated password. */
export function CreatedRepository(props: { repository: RepositoryView; generatedPassword?: string | undefined }) {
  return (
    <div class="alert-box ok" id="repository-created">
      <div class="step-title">Repository <a href={`/repositories/${props.repository.id}`}>{props.repository.name}</a> added.</div>
      {props.generatedPassword ? (
        <>
          <p>Store the generated repository password now: it is shown <strong>only once</strong>.</p>
          <CodeBlock id="generated-password" text={props.generatedPassword} />
        </>
      ) : null}
    </div>
  );
}

/** Add (repository null) or edit form. Field names are the REST schema's paths. */
export function RepositoryForm(props: { repository: RepositoryView | null }) {
  const r = props.repository;
  const backends: readonly RepositoryBackend[] = r ? [r.backend] : BACKENDS.filter((b) => CREDENTIAL_FIELDS[b].length > 0);
  return (
    <form class="form" hx-post={r ? `/repositories/${r.id}` : '/repositories'} hx-target={r ? undefined : '#repository-form-result'} hx-swap="innerHTML" novalidate>
      {r ? null : <div id="repository-form-result"></div>}
      <Field name="name" label="Name"><input id="f-name" name="name" value={r?.name ?? ''} required maxlength={128} autocomplete="off" /></Field>
      {r ? null : (
        <>
          <Field name="url" label="Location" hint="An absolute path, or rest:, s3:, b2:, azure:, gs:, sftp:, rclone: — never with credentials in it.">
            <input id="f-url" name="url" required class="mono input-wider" placeholder="s3:https://s3.example.com/bucket/host" autocomplete="off" />
          </Field>
          <Field name="engine" label="Engine">
            <select id="f-engine" name="engine"><option value="restic" selected>restic</option><option value="rustic">rustic</option></select>
          </Field>
          <Field name="password" label="Repository password" hint="Leave empty to generate one (shown once). Required to import.">
            <input id="f-password" name="password" type="password" autocomplete="new-password" />
          </Field>
          <Field name="import" label="Existing repository">
            <label class="check"><input id="f-import" name="import" type="checkbox" /> Import: it already exists (no init; its snapshots are read on the first test or job)</label>
          </Field>
        </>
      )}
      {backends.map((b) => <CredentialFieldset backend={b} repository={r} />)}
      <Field name="tls_ca_pem" label="CA certificate (PEM)" hint={r?.tls_ca_set ? 'A CA bundle is set; paste a new one to replace it.' : 'Only for a REST or S3 endpoint with a private CA.'}>
        <textarea id="f-tls_ca_pem" name="tls_ca_pem" rows={3} class="mono" placeholder={r?.tls_ca_set ? 'set' : '-----BEGIN CERTIFICATE-----'}></textarea>
      </Field>
      <Field name="append_only" label="Append-only">
        <label class="check"><input id="f-append_only" name="append_only" type="checkbox" checked={r?.append_only ?? false} /> The REST server enforces append-only for this user</label>
      </Field>
      <div class="form-actions">
        <button class="btn primary" type="submit">{r ? 'Save repository' : 'Add repository'}</button>
        {r ? <button class="btn danger" type="button" hx-delete={`/repositories/${r.id}`} hx-confirm="Forget this repository? Its data is not touched.">Delete</button> : null}
      </div>
    </form>
  );
}

function CredentialFieldset(props: { backend: RepositoryBackend; repository: RepositoryView | null }) {
  const fields = CREDENTIAL_FIELDS[props.backend];
  if (fields.length === 0) return null;
  const shown = props.repository?.credentials ?? {};
  return (
    <fieldset data-backend={props.backend}>
      <legend>{props.backend} credentials{props.repository ? null : <span class="muted"> (for {props.backend} locations)</span>}</legend>
      {fields.map((f) => <CredentialInput backend={props.backend} field={f} shown={shown} editing={!!props.repository} />)}
    </fieldset>
  );
}

function CredentialInput(props: { backend: RepositoryBackend; field: CredentialField; shown: Record<string, string | number | boolean>; editing: boolean }) {
  const f = props.field;
  // Without JavaScript every backend's fields are on the add form: ids carry the backend.
  const id = `f-${props.editing ? '' : `${props.backend}-`}credentials.${f.name}`;
  const name = props.editing ? `credentials.${f.name}` : `credentials.${props.backend}.${f.name}`;
  const secret = isSecretField(props.backend, f.name);
  const isSet = secret && props.shown[`${f.name}_set`] === true;
  const value = secret ? undefined : props.shown[f.name];
  const hint = [f.hint, isSet ? 'Stored (sealed): leave empty to keep it.' : undefined].filter(Boolean).join(' ');
  let input;
  if (f.input === 'checkbox') input = <label class="check"><input id={id} name={name} type="checkbox" checked={value === true} /> {f.label}</label>;
  else if (f.input === 'textarea' || f.input === 'options') input = <textarea id={id} name={name} rows={3} class="mono" placeholder={isSet ? 'set' : ''}>{typeof value === 'string' ? value : ''}</textarea>;
  else input = <input id={id} name={name} type={secret ? 'password' : f.input === 'number' ? 'number' : 'text'} value={value === undefined ? '' : String(value)} placeholder={isSet ? 'set' : ''} autocomplete={secret ? 'new-password' : 'off'} />;
  return <Field name={`credentials.${f.name}`} label={f.input === 'checkbox' ? '' : f.label} hint={hint || undefined}>{input}</Field>;
}

/** The host page's repositories: the primary first; admins link, unlink and test. */
export function HostRepositoriesCard(props: { hostId: string; viewer: Viewer; items: HostRepositoryView[]; all: RepositoryView[] }) {
  const linked = new Set(props.items.map((i) => i.repository.id));
  const candidates = props.all.filter((r) => !linked.has(r.id));
  const admin = isAdmin(props.viewer);
  return (
    <section class="card" id="host-repositories">
      <div class="card-head"><h2>Repositories</h2><a class="muted" href="/repositories">all repositories</a></div>
      {props.items.length === 0 ? (
        <Empty title="No repository linked yet">The primary repository is linked when the agent enrolls.</Empty>
      ) : (
        <div class="table-wrap">
          <table>
            <thead><tr><th>Repository</th><th>Backend</th><th class="num">Size</th><th class="num">Snapshots</th><th>Last backup</th><th>Last copy</th><th></th></tr></thead>
            <tbody>
              {props.items.map((i) => (
                <tr data-repository={i.repository.id}>
                  <td><a href={`/repositories/${i.repository.id}`}>{i.repository.name}</a> {i.primary ? <Badge tone="ok" plain>primary</Badge> : null}{i.repository.frozen_since ? <> <Badge tone="danger" title={i.repository.frozen_reason ?? ''}>frozen</Badge></> : null}<div class="mono host-sub" style="overflow-wrap:anywhere">{i.repository.url}</div></td>
                  <td>{i.repository.backend}</td>
                  <td class="num">{fmtBytes(i.repository.size_bytes)}</td>
                  <td class="num">{fmtCount(i.repository.snapshot_count)}</td>
                  <td><RelTime iso={i.last_backup_at} empty="never" /></td>
                  <td><RelTime iso={i.last_copy_at} empty="—" /></td>
                  <td class="nowrap">
                    {canOperate(props.viewer) ? <button class="btn small" type="button" hx-post={`/hosts/${props.hostId}/run`} hx-vals={JSON.stringify({ kind: 'check', repository_id: i.repository.id })}>Check</button> : null}{' '}
                    {admin ? <TestButton id={i.repository.id} /> : null}{' '}
                    {admin && !i.primary ? <button class="btn small" type="button" hx-post={`/hosts/${props.hostId}/repositories`} hx-vals={JSON.stringify({ repo_id: i.repository.id, primary: 'on' })}>Make primary</button> : null}{' '}
                    {admin && props.items.length > 1 ? <button class="btn small danger" type="button" hx-delete={`/hosts/${props.hostId}/repositories/${i.repository.id}`} hx-confirm="Unlink this repository from the host? Its data is not touched.">Unlink</button> : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {admin && candidates.length > 0 ? (
        <div class="card-body">
          <form class="form" hx-post={`/hosts/${props.hostId}/repositories`} novalidate>
            <Field name="repo_id" label="Link a repository">
              <select id="f-repo_id" name="repo_id">{candidates.map((r) => <option value={r.id}>{r.name} ({r.backend})</option>)}</select>
            </Field>
            <button class="btn" type="submit">Link</button>
          </form>
        </div>
      ) : null}
    </section>
  );
}
