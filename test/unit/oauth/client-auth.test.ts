import t from 'tap'
import { authenticateClient, JWT_BEARER_ASSERTION, readClientCredentials as readPresented } from '../../../src/oauth/client-auth.js'
import { hashSecret } from '../../../src/secrets.js'
import { CLIENT_SECRET, makeClient, makePublicClient, oauthError } from '../fixtures/index.js'

const NOW = 1_800_000_000

/** RFC 6749 §2.3.1: each part form-url-encoded, then joined with ':' and base64-encoded. */
const formEncode = (value: string) => encodeURIComponent(value).replace(/%20/g, '+')
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${formEncode(id)}:${formEncode(secret)}`).toString('base64')}`
const rawBasic = (decoded: string) => `Basic ${Buffer.from(decoded).toString('base64')}`
/** The three credentials most tests are about; assertions have their own tests below. */
const readClientCredentials = (authorization: string | undefined, clientId: string | undefined, clientSecret: string | undefined) =>
  readPresented({ authorization, clientId, clientSecret, assertionType: undefined, assertion: undefined })

t.test('readClientCredentials: client_secret_basic', async (t) => {
  t.same(readClientCredentials(basic('client-a', 'abc'), undefined, undefined), {
    method: 'client_secret_basic',
    clientId: 'client-a',
    secret: 'abc',
    assertion: null,
  })
  t.same(
    readClientCredentials(basic('client-a', 'abc'), 'client-a', undefined),
    { method: 'client_secret_basic', clientId: 'client-a', secret: 'abc', assertion: null },
    'matching client_id in the body is fine',
  )
  t.equal(
    readClientCredentials(basic('client-a', 'abc').replace('Basic', 'basic'), undefined, undefined).secret,
    'abc',
    'scheme is case-insensitive',
  )
})

t.test('readClientCredentials: Basic credentials are form-url-decoded', async (t) => {
  for (const secret of ['p%ss', 'a:b:c', 'a+b', 'with space', '100%', '%25', '+ %:&=/?#', 'ünïcødé🙂']) {
    const credentials = readClientCredentials(basic('client:id+%', secret), undefined, undefined)
    t.equal(credentials.secret, secret, JSON.stringify(secret))
    t.equal(credentials.clientId, 'client:id+%')
  }
  t.equal(readClientCredentials(rawBasic('client-a:a+b'), undefined, undefined).secret, 'a b', 'a literal + is a space')
  t.equal(readClientCredentials(rawBasic('client-a:a%2Bb'), undefined, undefined).secret, 'a+b')
  t.equal(readClientCredentials(rawBasic('client-a:x:y'), undefined, undefined).secret, 'x:y', 'the first colon splits id from secret')
  t.equal(readClientCredentials(rawBasic('client-a:'), undefined, undefined).secret, '', 'empty secret is read as empty')
})

t.test('readClientCredentials: malformed Authorization headers → invalid_client', async (t) => {
  t.throws(() => readClientCredentials('Bearer abc', undefined, undefined), oauthError('invalid_client'))
  t.throws(() => readClientCredentials('Basic', undefined, undefined), oauthError('invalid_client'))
  t.throws(() => readClientCredentials('Basic !!!', undefined, undefined), oauthError('invalid_client'))
  t.throws(() => readClientCredentials(rawBasic('no-colon'), undefined, undefined), oauthError('invalid_client'))
  t.throws(
    () => readClientCredentials(rawBasic('client-a:%zz'), undefined, undefined),
    oauthError('invalid_client'),
    'bad percent-encoding',
  )
  t.throws(
    () => readClientCredentials(rawBasic('%E0%A4%A:secret'), undefined, undefined),
    oauthError('invalid_client'),
    'bad percent-encoding in the id',
  )
  t.throws(() => readClientCredentials(rawBasic('\u0000:\u0000'), undefined, undefined), oauthError('invalid_client'), 'raw NUL characters')
  t.throws(
    () => readClientCredentials(rawBasic('client-a:%00'), undefined, undefined),
    oauthError('invalid_client'),
    'a percent-encoded NUL in the secret',
  )
  t.throws(
    () => readClientCredentials(rawBasic('client%0Aa:secret'), undefined, undefined),
    oauthError('invalid_client'),
    'a line feed in the id',
  )
})

t.test('readClientCredentials: mixed methods → invalid_request', async (t) => {
  t.throws(() => readClientCredentials(basic('client-a', 'abc'), 'client-a', 'abc'), oauthError('invalid_request'))
  t.throws(() => readClientCredentials(basic('client-a', 'abc'), undefined, 'other'), oauthError('invalid_request'))
})

t.test('readClientCredentials: client_id in the body must match the header', async (t) => {
  t.throws(() => readClientCredentials(basic('client-a', 'abc'), 'client-b', undefined), oauthError('invalid_request'))
  t.throws(() => readClientCredentials(basic('client-a', 'abc'), 'CLIENT-A', undefined), oauthError('invalid_request'), 'case-sensitive')
})

t.test('readClientCredentials: client_secret_post and none', async (t) => {
  t.same(
    readClientCredentials(undefined, 'client-a', 'a+b %'),
    { method: 'client_secret_post', clientId: 'client-a', secret: 'a+b %', assertion: null },
    'body values are taken as parsed',
  )
  t.same(readClientCredentials(undefined, 'public-app', undefined), {
    method: 'none',
    clientId: 'public-app',
    secret: null,
    assertion: null,
  })
  t.throws(() => readClientCredentials(undefined, undefined, undefined), oauthError('invalid_client'), 'no credentials at all')
  t.throws(() => readClientCredentials(undefined, undefined, 'secret'), oauthError('invalid_client'), 'a secret without a client_id')
})

const accepted = (client: ReturnType<typeof makeClient>) => ({ ok: true, client })
const refused = (reason: string) => ({ ok: false, reason })

t.test('authenticateClient: confidential clients', async (t) => {
  const client = makeClient()
  t.same(
    authenticateClient({ method: 'client_secret_basic', clientId: client.id, secret: CLIENT_SECRET, assertion: null }, client, NOW),
    accepted(client),
  )
  t.same(
    authenticateClient({ method: 'client_secret_post', clientId: client.id, secret: CLIENT_SECRET, assertion: null }, client, NOW),
    accepted(client),
  )
  t.same(
    authenticateClient({ method: 'none', clientId: client.id, secret: null, assertion: null }, client, NOW),
    refused('missing_secret'),
    'no secret',
  )
  t.same(
    authenticateClient({ method: 'client_secret_post', clientId: client.id, secret: 'wrong', assertion: null }, client, NOW),
    refused('wrong_secret'),
    'wrong secret',
  )
  t.same(
    authenticateClient({ method: 'client_secret_post', clientId: client.id, secret: '', assertion: null }, client, NOW),
    refused('wrong_secret'),
    'empty secret',
  )
  t.same(
    authenticateClient({ method: 'client_secret_post', clientId: client.id, secret: `${CLIENT_SECRET} `, assertion: null }, client, NOW),
    refused('wrong_secret'),
    'secret with a trailing space',
  )
  t.same(
    authenticateClient({ method: 'client_secret_post', clientId: client.id, secret: client.secretHash!, assertion: null }, client, NOW),
    refused('wrong_secret'),
    'the stored hash is not the secret',
  )
  t.same(
    authenticateClient({ method: 'client_secret_post', clientId: 'x', secret: CLIENT_SECRET, assertion: null }, undefined, NOW),
    refused('unknown_client'),
    'unknown client',
  )
})

t.test('authenticateClient: secrets with special characters work end to end through Basic', async (t) => {
  const secret = 'p%ss:w+rd with space'
  const client = makeClient({ secretHash: hashSecret(secret) })
  const credentials = readClientCredentials(basic(client.id, secret), undefined, undefined)
  t.same(authenticateClient(credentials, client, NOW), accepted(client))
})

t.test('authenticateClient: public clients', async (t) => {
  const client = makePublicClient()
  t.same(authenticateClient({ method: 'none', clientId: client.id, secret: null, assertion: null }, client, NOW), accepted(client))
  t.same(
    authenticateClient({ method: 'client_secret_post', clientId: client.id, secret: 'anything', assertion: null }, client, NOW),
    refused('secret_for_public_client'),
    'a public client sending a secret',
  )
  t.same(
    authenticateClient({ method: 'client_secret_basic', clientId: client.id, secret: '', assertion: null }, client, NOW),
    refused('secret_for_public_client'),
    'a public client using Basic',
  )
})

/** An unsigned JWT is enough here: readClientCredentials only finds the client; the signature is checked with its keys later. */
const assertionFor = (sub: string) =>
  `${Buffer.from('{"alg":"RS256"}').toString('base64url')}.${Buffer.from(JSON.stringify({ sub, iss: sub })).toString('base64url')}.sig`

t.test('readClientCredentials: private_key_jwt (RFC 7523 §2.2)', async (t) => {
  const assertion = assertionFor('client-k')
  const read = (fields: Partial<Parameters<typeof readPresented>[0]>) =>
    readPresented({
      authorization: undefined,
      clientId: undefined,
      clientSecret: undefined,
      assertionType: JWT_BEARER_ASSERTION,
      assertion,
      ...fields,
    })
  t.same(
    read({}),
    { method: 'private_key_jwt', clientId: 'client-k', secret: null, assertion },
    'the client comes from the assertion’s sub',
  )
  t.equal(read({ clientId: 'client-k' }).clientId, 'client-k', 'a matching client_id is fine')
  t.throws(() => read({ clientId: 'other' }), {
    ...oauthError('invalid_request'),
    description: 'client_id does not match the client assertion',
  })
  t.throws(() => read({ assertionType: 'urn:other' }), oauthError('invalid_request'), 'another assertion type')
  t.throws(() => read({ clientSecret: 's' }), oauthError('invalid_request'), 'an assertion and a secret')
  t.throws(() => read({ authorization: basic('client-k', 's') }), oauthError('invalid_request'), 'an assertion and Basic')
  t.throws(() => read({ assertion: 'not-a-jwt' }), oauthError('invalid_client'), 'garbage')
})

t.test('authenticateClient: private_key_jwt clients need an assertion, others cannot use one', async (t) => {
  const keyClient = makePublicClient({ metadata: { token_endpoint_auth_method: 'private_key_jwt', jwks_uri: 'https://app.example/jwks' } })
  const assertion = { method: 'private_key_jwt', clientId: keyClient.id, secret: null, assertion: 'x.y.z' } as const
  t.same(authenticateClient(assertion, keyClient, NOW), accepted(keyClient), 'accepted pending the signature check')
  t.same(
    authenticateClient({ method: 'none', clientId: keyClient.id, secret: null, assertion: null }, keyClient, NOW),
    refused('assertion_required'),
  )
  t.same(
    authenticateClient({ ...assertion, clientId: 'p' }, makePublicClient(), NOW),
    refused('bad_assertion'),
    'a public client has no keys',
  )
  t.same(authenticateClient({ ...assertion, clientId: 'c' }, makeClient(), NOW), refused('bad_assertion'), 'a secret client has no keys')
})
