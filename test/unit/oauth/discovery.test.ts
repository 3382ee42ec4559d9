import t from 'tap'
import { discoveryDocument, ENDPOINT_PATHS } from '../../../src/oauth/discovery.js'

t.test('every URL is built from the issuer argument', async (t) => {
  for (const issuer of ['https://idp.example', 'https://idp.example/tenant-a', 'http://localhost:3000']) {
    const doc = discoveryDocument(issuer)
    t.equal(doc['issuer'], issuer, 'issuer byte-equal')
    t.equal(doc['authorization_endpoint'], `${issuer}/authorize`)
    t.equal(doc['token_endpoint'], `${issuer}/token`)
    t.equal(doc['userinfo_endpoint'], `${issuer}/userinfo`)
    t.equal(doc['jwks_uri'], `${issuer}/.well-known/jwks.json`)
    t.equal(doc['revocation_endpoint'], `${issuer}/revoke`)
    t.equal(doc['introspection_endpoint'], `${issuer}/introspect`)
    t.equal(doc['end_session_endpoint'], `${issuer}/logout`)
    t.equal(doc['device_authorization_endpoint'], `${issuer}/device/authorization`, 'RFC 8628 §4')
    for (const [name, value] of Object.entries(doc)) {
      if (typeof value === 'string' && /^https?:/.test(value)) t.ok(value.startsWith(issuer), `${name} starts with the issuer`)
    }
  }
})

t.test('endpoint paths', async (t) => {
  t.equal(ENDPOINT_PATHS.authorization, '/authorize')
  t.equal(ENDPOINT_PATHS.token, '/token')
  t.equal(ENDPOINT_PATHS.jwks, '/.well-known/jwks.json')
})

t.test('advertised capabilities match what the server does', async (t) => {
  const doc = discoveryDocument('https://idp.example')
  t.same(doc['code_challenge_methods_supported'], ['S256'], 'no plain')
  t.same(doc['response_types_supported'], ['code'])
  t.same(doc['response_modes_supported'], ['query'])
  t.same(doc['id_token_signing_alg_values_supported'], ['RS256'])
  t.notOk((doc['id_token_signing_alg_values_supported'] as string[]).includes('none'))
  t.same(doc['subject_types_supported'], ['public'])
  t.equal(doc['request_parameter_supported'], false)
  t.equal(doc['request_uri_parameter_supported'], false)
  t.equal(doc['claims_parameter_supported'], true, 'for an essential acr (OIDC Core §5.5.1.1); other claims come by scope')
  t.same(doc['acr_values_supported'], ['urn:tessera:pwd', 'urn:tessera:mfa', 'phr'])
  t.equal(doc['authorization_response_iss_parameter_supported'], true)
  t.equal(doc['backchannel_logout_supported'], true, 'OpenID Connect Back-Channel Logout 1.0')
  t.equal(doc['backchannel_logout_session_supported'], true, 'logout tokens carry sid, as ID tokens do')
  t.equal(doc['frontchannel_logout_supported'], false)
  t.ok((doc['claims_supported'] as string[]).includes('sid'))
  t.ok((doc['scopes_supported'] as string[]).includes('openid'))
  t.same([...(doc['token_endpoint_auth_methods_supported'] as string[])].sort(), [
    'client_secret_basic',
    'client_secret_post',
    'none',
    'private_key_jwt',
  ])
  t.same(doc['token_endpoint_auth_signing_alg_values_supported'], ['RS256', 'PS256', 'ES256', 'EdDSA'], 'asymmetric assertions only')
  t.notOk('registration_endpoint' in doc, 'no registration endpoint unless REGISTRATION enables it')
  t.equal(doc['client_id_metadata_document_supported'], false)
  t.notOk(
    (doc['introspection_endpoint_auth_methods_supported'] as string[]).includes('none'),
    'introspection requires client authentication',
  )
  const grants = doc['grant_types_supported'] as string[]
  t.ok(grants.includes('authorization_code'))
  t.ok(grants.includes('urn:ietf:params:oauth:grant-type:token-exchange'), 'RFC 8693 token exchange')
  t.notOk(grants.includes('password'), 'no password grant')
  t.notOk(grants.includes('implicit'), 'no implicit grant')
  for (const claim of ['sub', 'iss', 'aud', 'exp', 'iat', 'auth_time', 'nonce'])
    t.ok((doc['claims_supported'] as string[]).includes(claim), claim)
})

t.test('registration and client metadata documents are advertised when enabled', async (t) => {
  const doc = discoveryDocument('https://idp.example', { registration: true, clientMetadataDocuments: true })
  t.equal(doc['registration_endpoint'], 'https://idp.example/register')
  t.equal(doc['client_id_metadata_document_supported'], true)
})

t.test('the document is JSON-serialisable and fresh per call', async (t) => {
  const a = discoveryDocument('https://a.example')
  const b = discoveryDocument('https://b.example')
  t.same(JSON.parse(JSON.stringify(a)), a)
  t.equal(a['token_endpoint'], 'https://a.example/token')
  t.equal(b['token_endpoint'], 'https://b.example/token')
})
