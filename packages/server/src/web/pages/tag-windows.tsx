import type { TagWindowsView } from '@restic-manager/protocol';
import { Field } from '../components/ui.js';
import { WindowFields } from './schedule-windows.js';

const summary = (t: TagWindowsView): string => [
  ...t.windows.map((w) => `${w.days.join(',')} ${w.start}–${w.end}${w.at_end === 'stop' ? ' (stop at end)' : ''}`),
  ...t.blackouts.map((b) => `no runs ${b.from}${b.to && b.to !== b.from ? `..${b.to}` : ''}`),
].join('; ');

/** Settings → Backup windows (admins, issue 21): the windows of host tags, applied to every schedule of a host carrying the tag. */
export function TagWindowsCard(props: { items: TagWindowsView[] }) {
  return (
    <section class="card" id="tag-windows">
      <div class="card-head"><h2>Backup windows by host tag</h2></div>
      <div class="card-body">
        <p class="muted" style="margin-top:0">Every schedule of a host carrying the tag starts only inside these windows (in the schedule's time zone), on top of the schedule's own; a run due outside waits for the next opening.</p>
        {props.items.length ? (
          <ul id="tag-windows-list" style="list-style:none;margin:0 0 12px;padding:0">
            {props.items.map((t) => (
              <li style="display:flex;gap:8px;align-items:center;margin:4px 0" data-tag={t.tag}>
                <code>{t.tag}</code><span class="mono">{summary(t)}</span>
                <button class="btn danger" hx-post={`/settings/tag-windows/${encodeURIComponent(t.tag)}/delete`} hx-confirm={`Remove the backup windows of tag “${t.tag}”?`}>Remove</button>
              </li>
            ))}
          </ul>
        ) : <p class="faint" id="tag-windows-none">No tag has backup windows.</p>}
        <form class="form" id="tag-windows-form" hx-post="/settings/tag-windows" novalidate>
          <Field name="tag" label="Host tag" hint="Setting a tag that already has windows replaces them."><input id="f-tw-tag" name="tag" autocomplete="off" size={20} /></Field>
          <WindowFields prefix="windows" set={null} idPrefix="f-tw" />
          <div class="form-actions"><button class="btn" type="submit">Save tag windows</button></div>
        </form>
      </div>
    </section>
  );
}
