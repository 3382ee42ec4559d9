import t from 'tap'
import { parseClientMetadata } from '../../../src/oauth/client-metadata.js'
import { DEVICE_CODE_GRANT } from '../../../src/model/client.js'
import { oauthError } from '../fixtures/index.js'

const base = { client_name: 'Agent', redirect_uris: ['https://agent.example/callback'] }

t.test('defaults (RFC 7591 §2): code, authorization_code, client_secret_basic; a metadata document defaults to none', async (t) => {
  const dynamic = parseClientMetadata(base, 'dynamic')
  t.equal(dynamic.name, 'Agent')
  t.same(dynamic.grantTypes, ['authorization_code'])
  t.equal(dynamic.authMethod, 'client_secret_basic')
  t.same(dynamic.redirectUris, ['https://agent.example/callback'])
  t.equal(parseClientMetadata(base, 'metadata_document').authMethod, 'none')
  t.equal(
    parseClientMetadata({ redirect_uris: ['https://agent.example/cb'] }, 'dynamic').name,
    'agent.example',
    'no name: the redirect host',
  )
})

t.test('what is supported is accepted and kept', async (t) => {
  const parsed = parseClientMetadata(
    {
      ...base,
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      scope: 'openid photos:read',
      redirect_uris: ['http://127.0.0.1/callback', 'com.example.app:/cb'],
      logo_uri: 'https://agent.example/logo.png',
      software_id: 'agent-1',
      contacts: ['ops@agent.example'],
      id_token_signed_response_alg: 'RS256',
      subject_type: 'public',
      some_future_member: { anything: true },
    },
    'dynamic',
  )
  t.same(parsed.scopes, ['openid', 'photos:read'])
  t.same(parsed.grantTypes, ['authorization_code', 'refresh_token'])
  t.same(parsed.display, { logo_uri: 'https://agent.example/logo.png', software_id: 'agent-1', contacts: ['ops@agent.example'] })
})

t.test('security metadata Tessera does not implement is refused, not ignored', async (t) => {
  for (const [member, value] of [
    ['id_token_encrypted_response_alg', 'RSA-OAEP'],
    ['request_uris', ['https://agent.example/r']],
    ['frontchannel_logout_uri', 'https://agent.example/logout'],
    ['client_secret', 'chosen'],
    ['tls_client_certificate_bound_access_tokens', true],
    ['id_token_signed_response_alg', 'none'],
    ['subject_type', 'pairwise'],
    ['authorization_encrypted_response_alg', 'RSA-OAEP'],
    ['authorization_encrypted_response_enc', 'A128GCM'],
    ['introspection_encrypted_response_alg', 'RSA-OAEP'],
    ['introspection_encrypted_response_enc', 'A128GCM'],
    ['software_statement', 'eyJhbGciOiJSUzI1NiJ9.e30.sig'],
  ] as const) {
    t.throws(() => parseClientMetadata({ ...base, [member]: value }, 'dynamic'), oauthError('invalid_client_metadata'), member)
  }
  t.doesNotThrow(
    () => parseClientMetadata({ ...base, tls_client_certificate_bound_access_tokens: false }, 'dynamic'),
    'false asks for nothing',
  )
  for (const value of [true, false])
    t.doesNotThrow(
      () => parseClientMetadata({ ...base, require_auth_time: value }, 'dynamic'),
      `require_auth_time ${value}: ID tokens always carry auth_time`,
    )
  const bound = parseClientMetadata({ ...base, dpop_bound_access_tokens: true, require_pushed_authorization_requests: true }, 'dynamic')
  t.equal(bound.dpopBoundAccessTokens, true, 'DPoP-bound tokens can be asked for (RFC 9449 §5.2)')
  t.equal(bound.requirePushedAuthorizationRequests, true, 'and PAR (RFC 9126 §6)')
  t.throws(() => parseClientMetadata({ ...base, dpop_bound_access_tokens: 'yes' }, 'dynamic'), oauthError('invalid_client_metadata'))
})

t.test('backchannel_logout_uri: https; loopback (and http there) only while the issuer is on localhost', async (t) => {
  const publicIssuer = { issuer: 'https://id.example' }
  const localIssuer = { issuer: 'http://127.0.0.1:3000' }
  const parsed = parseClientMetadata(
    { ...base, backchannel_logout_uri: 'https://agent.example/logout?x=1', backchannel_logout_session_required: true },
    'dynamic',
    publicIssuer,
  )
  t.equal(parsed.backchannelLogoutUri, 'https://agent.example/logout?x=1', 'a query is allowed (§2.2)')
  t.equal(parsed.backchannelLogoutSessionRequired, true)
  const none = parseClientMetadata(base, 'metadata_document', publicIssuer)
  t.same([none.backchannelLogoutUri, none.backchannelLogoutSessionRequired], [null, false], 'absent: none')
  t.equal(
    parseClientMetadata({ ...base, backchannel_logout_uri: 'http://127.0.0.1:8080/logout' }, 'metadata_document', localIssuer)
      .backchannelLogoutUri,
    'http://127.0.0.1:8080/logout',
    'http on loopback with a localhost issuer',
  )
  for (const [uri, context, what] of [
    ['http://agent.example/logout', localIssuer, 'http elsewhere than loopback'],
    ['http://127.0.0.1:8080/logout', publicIssuer, 'http loopback with a public issuer'],
    ['https://localhost/logout', publicIssuer, 'loopback with a public issuer'],
    ['https://agent.example/logout#frag', publicIssuer, 'a fragment'],
    ['https://user:pw@agent.example/logout', publicIssuer, 'credentials'],
    ['/logout', publicIssuer, 'a relative URL'],
  ] as const) {
    const error = t.throws(
      () => parseClientMetadata({ ...base, backchannel_logout_uri: uri }, 'dynamic', context),
      oauthError('invalid_client_metadata'),
      what,
    ) as { description?: string }
    t.match(error.description, /^backchannel_logout_uri /, `${what}: the description names the member`)
  }
  t.throws(
    () => parseClientMetadata({ ...base, backchannel_logout_uri: 'http://127.0.0.1:8080/logout' }, 'dynamic'),
    oauthError('invalid_client_metadata'),
    'without a context nothing is local',
  )
  t.throws(
    () => parseClientMetadata({ ...base, backchannel_logout_session_required: 'yes' }, 'dynamic', publicIssuer),
    oauthError('invalid_client_metadata'),
    'the flag is a boolean',
  )
})

t.test('grant, response types and authentication methods', async (t) => {
  const refused: [string, Record<string, unknown>, 'dynamic' | 'metadata_document'][] = [
    ['implicit response type', { response_types: ['token'] }, 'dynamic'],
    ['unknown grant', { grant_types: ['password'] }, 'dynamic'],
    ['refresh without code', { grant_types: ['refresh_token'] }, 'dynamic'],
    ['unknown method', { token_endpoint_auth_method: 'tls_client_auth' }, 'dynamic'],
    ['shared secret in a public document', { token_endpoint_auth_method: 'client_secret_basic' }, 'metadata_document'],
    ['client_credentials without authentication', { grant_types: ['client_credentials'], token_endpoint_auth_method: 'none' }, 'dynamic'],
    ['client_credentials with a secret', { grant_types: ['client_credentials'] }, 'dynamic'],
    [
      'client_credentials with a key',
      {
        grant_types: ['authorization_code', 'client_credentials'],
        token_endpoint_auth_method: 'private_key_jwt',
        jwks_uri: 'https://a.example/jwks',
      },
      'dynamic',
    ],
    [
      'client_credentials in a document',
      { grant_types: ['client_credentials'], token_endpoint_auth_method: 'private_key_jwt', jwks_uri: 'https://a.example/jwks' },
      'metadata_document',
    ],
    ['require_auth_time of the wrong type', { require_auth_time: 'yes' }, 'dynamic'],
    ['assertion alg HS256', { token_endpoint_auth_signing_alg: 'HS256' }, 'dynamic'],
    ['not an object', [] as unknown as Record<string, unknown>, 'dynamic'],
    ['bad scope', { scope: 'openid "x"' }, 'dynamic'],
    ['client_uri over http', { client_uri: 'http://agent.example' }, 'dynamic'],
    ['name of the wrong type', { client_name: 42 }, 'dynamic'],
  ]
  for (const [what, metadata, kind] of refused) {
    const input = Array.isArray(metadata) ? metadata : { ...base, ...metadata }
    t.throws(() => parseClientMetadata(input, kind), oauthError('invalid_client_metadata'), what)
  }
})

t.test('private_key_jwt needs exactly one of jwks_uri and jwks, with public keys only', async (t) => {
  const pkj = { ...base, token_endpoint_auth_method: 'private_key_jwt' }
  const publicKey = {
    kty: 'EC',
    crv: 'P-256',
    x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU',
    y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0',
  }
  t.equal(parseClientMetadata({ ...pkj, jwks_uri: 'https://agent.example/jwks' }, 'dynamic').jwksUri, 'https://agent.example/jwks')
  t.same(parseClientMetadata({ ...pkj, jwks: { keys: [publicKey] } }, 'metadata_document').jwks, { keys: [publicKey] })
  t.throws(() => parseClientMetadata(pkj, 'dynamic'), oauthError('invalid_client_metadata'), 'neither')
  t.throws(
    () => parseClientMetadata({ ...pkj, jwks_uri: 'https://agent.example/jwks', jwks: { keys: [publicKey] } }, 'dynamic'),
    oauthError('invalid_client_metadata'),
    'both',
  )
  t.throws(
    () => parseClientMetadata({ ...pkj, jwks: { keys: [{ ...publicKey, d: 'secret' }] } }, 'dynamic'),
    oauthError('invalid_client_metadata'),
    'a private key',
  )
  t.throws(() => parseClientMetadata({ ...pkj, jwks: { keys: [] } }, 'dynamic'), oauthError('invalid_client_metadata'), 'no keys')
  t.throws(
    () => parseClientMetadata({ ...pkj, jwks_uri: 'http://agent.example/jwks' }, 'dynamic'),
    oauthError('invalid_client_metadata'),
    'http jwks_uri',
  )
})

t.test('redirect URIs follow the registration rules (invalid_redirect_uri)', async (t) => {
  t.throws(
    () => parseClientMetadata({ client_name: 'x' }, 'dynamic'),
    oauthError('invalid_redirect_uri'),
    'code grant without a redirect URI',
  )
  for (const uri of ['https://agent.example/cb#frag', 'http://agent.example/cb', 'javascript:alert(1)', 'https://user@agent.example/cb']) {
    t.throws(() => parseClientMetadata({ ...base, redirect_uris: [uri] }, 'dynamic'), oauthError('invalid_redirect_uri'), uri)
  }
  t.throws(
    () => parseClientMetadata({ ...base, post_logout_redirect_uris: ['http://agent.example/bye'] }, 'dynamic'),
    oauthError('invalid_redirect_uri'),
    'post-logout too',
  )
  t.same(parseClientMetadata({ grant_types: [DEVICE_CODE_GRANT] }, 'dynamic').redirectUris, [], 'a device client needs none')
})
