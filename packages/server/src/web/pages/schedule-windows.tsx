import type { WindowSetInput } from '@restic-manager/protocol';
import { Field } from '../components/ui.js';

/* Issue 21: the schedule editor's "Backup windows" section and the tag windows form share these
   fields (names `<prefix>.windows.N.*` and `<prefix>.blackouts`, so a server error names the input). */

/** How many window rows a form offers. */
export const WINDOW_ROWS = 3;

const blackoutText = (s: WindowSetInput | null | undefined): string => (s?.blackouts ?? []).map((b) => (b.to && b.to !== b.from ? `${b.from}..${b.to}` : b.from)).join('\n');

/** Window rows (days, start, end, at the end) and the blackout dates of one window set. */
export function WindowFields(props: { prefix: string; set: WindowSetInput | null | undefined; idPrefix: string }) {
  const p = props.prefix;
  const rows = Array.from({ length: WINDOW_ROWS }, (_, i) => props.set?.windows[i] ?? null);
  return (
    <>
      {rows.map((w, i) => (
        <div class="field-row" data-window-row={String(i)}>
          <Field name={`${p}.windows.${i}.days`} label={`Window ${i + 1}: days`} hint={i === 0 ? 'e.g. mon-fri or sat,sun (the day the window opens)' : undefined}>
            <input id={`${props.idPrefix}-${i}-days`} name={`${p}.windows.${i}.days`} value={w ? w.days.join(',') : ''} size={16} autocomplete="off" />
          </Field>
          <Field name={`${p}.windows.${i}.start`} label="from" hint={i === 0 ? 'HH:MM' : undefined}>
            <input id={`${props.idPrefix}-${i}-start`} name={`${p}.windows.${i}.start`} value={w?.start ?? ''} placeholder="22:00" size={5} class="mono" autocomplete="off" />
          </Field>
          <Field name={`${p}.windows.${i}.end`} label="to" hint={i === 0 ? 'earlier = next day' : undefined}>
            <input id={`${props.idPrefix}-${i}-end`} name={`${p}.windows.${i}.end`} value={w?.end ?? ''} placeholder="06:00" size={5} class="mono" autocomplete="off" />
          </Field>
          <Field name={`${p}.windows.${i}.at_end`} label="a run still going at the end">
            <select id={`${props.idPrefix}-${i}-at_end`} name={`${p}.windows.${i}.at_end`}>
              <option value="finish" selected={w?.at_end !== 'stop'}>may finish</option>
              <option value="stop" selected={w?.at_end === 'stop'}>is stopped</option>
            </select>
          </Field>
        </div>
      ))}
      <Field name={`${p}.blackouts`} label="Blackout dates" hint="One per line: 2026-12-24, or a range 2026-12-24..2026-12-26. No run starts on these days.">
        <textarea id={`${props.idPrefix}-blackouts`} name={`${p}.blackouts`} rows={2} class="mono">{blackoutText(props.set)}</textarea>
      </Field>
    </>
  );
}

/** The editor's section: the schedule's own windows (tag windows from Settings apply on top). */
export function WindowsFieldset(props: { set: WindowSetInput | null | undefined; previewUrl: string }) {
  return (
    <fieldset class="field" id="windows-fieldset" hx-get={props.previewUrl} hx-trigger="input changed delay:300ms, change" hx-target="#cron-preview" hx-include="#f-cron_expr, #f-time_zone, [name^='windows.']">
      <legend>Backup windows</legend>
      <p class="muted" style="margin:0 0 6px">Runs start only inside these windows, in the schedule's time zone; a run due outside waits for the next opening (the preview above shows when). Empty = any time. Windows of the host's tags (Settings → Backup windows) apply too.</p>
      <WindowFields prefix="windows" set={props.set} idPrefix="f-win" />
    </fieldset>
  );
}
