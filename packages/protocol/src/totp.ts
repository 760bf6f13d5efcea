import { z } from 'zod';
import { Role } from './common.js';

/*
 * TOTP second factor (issue 21, docs/server.md "Two-factor sign-in"): RFC 6238, SHA-1, 6 digits,
 * 30-second steps (what every authenticator app reads from an otpauth:// URI), recovery codes.
 */

export const TOTP_DIGITS = 6;
export const TOTP_PERIOD_S = 30;
/** Recovery codes: 10 of them, `xxxxx-xxxxx` from a 32-letter alphabet (50 bits each). */
export const RECOVERY_CODE_COUNT = 10;
export const RECOVERY_CODE_PATTERN = /^[a-z2-7]{5}-[a-z2-7]{5}$/;

const code = z.string().trim().regex(/^\d{6}$/, 'enter the 6-digit code from your authenticator app');

/** `POST /api/auth/login` when the account has a second factor: no session yet, only this challenge. */
export const LoginChallenge = z.object({
  second_factor: z.literal('totp'),
  /** Send it back with the code to `POST /api/auth/login/totp` (valid 5 minutes, 5 attempts). */
  challenge: z.string(),
  expires_at: z.string(),
});
export type LoginChallenge = z.infer<typeof LoginChallenge>;

export const TotpLoginRequest = z
  .object({
    challenge: z.string().min(1).max(128),
    code: code.optional(),
    /** Instead of `code`: one of the recovery codes (each works once). */
    recovery_code: z.string().trim().toLowerCase().regex(RECOVERY_CODE_PATTERN, 'a recovery code looks like abcde-fgh23').optional(),
  })
  .strict()
  .refine((b) => (b.code === undefined) !== (b.recovery_code === undefined), { message: 'send either code or recovery_code', path: ['code'] });
export type TotpLoginRequest = z.infer<typeof TotpLoginRequest>;

export const TotpCodeRequest = z.object({ code }).strict();
export type TotpCodeRequest = z.infer<typeof TotpCodeRequest>;

/** Enrolment step 1: the new secret, shown for the authenticator app; confirmed by a code. */
export const TotpSetupView = z.object({
  /** Base32 (RFC 4648), for typing into an app. */
  secret: z.string(),
  /** `otpauth://totp/…` for a QR code or a password manager. */
  otpauth_uri: z.string(),
  digits: z.number().int(),
  period: z.number().int(),
  algorithm: z.literal('SHA1'),
});
export type TotpSetupView = z.infer<typeof TotpSetupView>;

/** Enrolment step 2 (and regeneration): the recovery codes, shown this once. */
export const RecoveryCodesView = z.object({ recovery_codes: z.array(z.string()) });
export type RecoveryCodesView = z.infer<typeof RecoveryCodesView>;

export const TotpStatusView = z.object({
  /** False for single sign-on and service accounts (no password sign-in to add a factor to). */
  available: z.boolean(),
  enabled: z.boolean(),
  /** The user's role must sign in with a second factor (an admin's setting). */
  required: z.boolean(),
  recovery_codes_left: z.number().int(),
});
export type TotpStatusView = z.infer<typeof TotpStatusView>;

export const AuthSettingsView = z.object({ totp_required_roles: z.array(Role) });
export type AuthSettingsView = z.infer<typeof AuthSettingsView>;
export const AuthSettingsUpdate = z.object({ totp_required_roles: z.array(Role).max(3) }).strict();
export type AuthSettingsUpdate = z.infer<typeof AuthSettingsUpdate>;
