/**
 * How a user authenticated (RFC 8176 authentication method reference values): `pwd` a password,
 * `otp` an authenticator-app code (or a recovery code), `hwk`/`swk` a passkey bound to one device
 * or synced between devices, `user` the authenticator verified the user, `mfa` more than one factor.
 * The rest of the RFC 8176 §2 registry is accepted too: an upstream identity provider may report
 * any of them for a federated sign-in, and they are passed on as given.
 */
export const AUTHENTICATION_METHODS = [
  'pwd',
  'otp',
  'hwk',
  'swk',
  'user',
  'mfa',
  'face',
  'fpt',
  'geo',
  'iris',
  'kba',
  'mca',
  'pin',
  'pop',
  'rba',
  'retina',
  'sc',
  'sms',
  'tel',
  'vbm',
  'wia',
] as const

export type AuthenticationMethod = (typeof AUTHENTICATION_METHODS)[number]

export const isAuthenticationMethod = (value: unknown): value is AuthenticationMethod =>
  (AUTHENTICATION_METHODS as readonly unknown[]).includes(value)

/** Stored as a JSON array; anything unknown in storage is dropped rather than trusted. */
export function parseAmr(raw: string): AuthenticationMethod[] {
  const value: unknown = JSON.parse(raw)
  return Array.isArray(value) ? value.filter(isAuthenticationMethod) : ['pwd']
}
