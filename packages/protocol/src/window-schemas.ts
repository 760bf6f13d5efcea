import { z } from 'zod';
import { WEEKDAYS } from './windows.js';

/**
 * Backup windows as stored and as the REST API and schedule.set carry them (issue 21; the maths
 * and their meaning are in windows.ts). The shapes are checked here; whether a set ever opens is
 * checked by `windowSetProblem` when it is saved (the error names the field).
 */
export const BackupWindowSchema = z.object({
  days: z.array(z.enum(WEEKDAYS)).max(7).meta({ description: 'the days the window opens on (sun..sat)', examples: [['mon', 'tue', 'wed', 'thu', 'fri']] }),
  start: z.string().max(5).meta({ description: 'HH:MM, local time in the schedule zone', examples: ['22:00'] }),
  end: z.string().max(5).meta({ description: 'HH:MM (24:00 allowed); at or before start = the next day', examples: ['06:00'] }),
  at_end: z.enum(['finish', 'stop']).default('finish').meta({ description: 'a run still going at the end: finish, or stop (cancelled with the reason "stopped at the end of its backup window")' }),
}).strict();

export const BlackoutSchema = z.object({
  from: z.string().max(10).meta({ description: 'YYYY-MM-DD, inclusive', examples: ['2026-12-24'] }),
  to: z.string().max(10).optional().meta({ description: 'YYYY-MM-DD, inclusive; absent = the single day', examples: ['2026-12-26'] }),
}).strict();

export const WindowSetSchema = z.object({
  windows: z.array(BackupWindowSchema).max(32).default([]),
  blackouts: z.array(BlackoutSchema).max(256).default([]),
}).strict();
export type WindowSetInput = z.infer<typeof WindowSetSchema>;

/** A tag's windows (Settings → Backup windows): applied to every schedule of every host carrying the tag. */
export const TagWindowsView = WindowSetSchema.extend({ tag: z.string(), updated_at: z.string() });
export type TagWindowsView = z.infer<typeof TagWindowsView>;
