/**
 * How a user authenticated (RFC 8176 authentication method reference values): `pwd` a password,
 * `otp` an authenticator-app code (or a recovery code), `hwk`/`swk` a passkey bound to one device
 * or synced between devices, `user` the authenticator verified the user, `mfa` more than one factor.
 */
export type AuthenticationMethod = 'pwd' | 'otp' | 'hwk' | 'swk' | 'user' | 'mfa'

export const AUTHENTICATION_METHODS: readonly AuthenticationMethod[] = ['pwd', 'otp', 'hwk', 'swk', 'user', 'mfa']

/** Stored as a JSON array; anything unknown in storage is dropped rather than trusted. */
export function parseAmr(raw: string): AuthenticationMethod[] {
  const value: unknown = JSON.parse(raw)
  return Array.isArray(value)
    ? value.filter((method): method is AuthenticationMethod => (AUTHENTICATION_METHODS as readonly unknown[]).includes(method))
    : ['pwd']
}
