/** The kinds of JWT Tessera signs and the `typ` header of each (its own module: signing threads load it without jose). */
export type TokenKind = 'id_token' | 'access_token' | 'logout_token'

/**
 * RFC 9068 §2.1 types access tokens `at+jwt` and OpenID Connect Back-Channel Logout 1.0 §2.4
 * logout tokens `logout+jwt`, so no kind can be mistaken for another.
 */
export const TOKEN_TYP: Record<TokenKind, string> = { id_token: 'JWT', access_token: 'at+jwt', logout_token: 'logout+jwt' }
