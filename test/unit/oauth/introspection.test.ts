import t from 'tap'
import { mayIntrospectAccessToken } from '../../../src/oauth/introspection.js'

const ISSUER = 'https://id.example.com'
const PHOTOS = 'https://photos.example.com'
const caller = (introspect: boolean, introspectApis: string[] = []) => ({ id: 'rs', introspect, introspectApis })

t.test('the token’s own client always; others only as resource servers for its audience', async (t) => {
  t.ok(mayIntrospectAccessToken(caller(false), { client_id: 'rs', aud: PHOTOS }, ISSUER), 'its own token')
  t.notOk(mayIntrospectAccessToken(caller(false), { client_id: 'app', aud: ISSUER }, ISSUER), 'a plain client')
  t.ok(mayIntrospectAccessToken(caller(true), { client_id: 'app', aud: ISSUER }, ISSUER), '--introspect: the default audience')
  t.notOk(mayIntrospectAccessToken(caller(true), { client_id: 'app', aud: PHOTOS }, ISSUER), '--introspect: not an API')
  t.ok(mayIntrospectAccessToken(caller(false, [PHOTOS]), { client_id: 'app', aud: PHOTOS }, ISSUER), '--introspect-api: that API')
  t.notOk(mayIntrospectAccessToken(caller(false, [PHOTOS]), { client_id: 'app', aud: ISSUER }, ISSUER), 'not the default audience')
  t.notOk(
    mayIntrospectAccessToken(caller(true, [PHOTOS]), { client_id: 'app', aud: `${ISSUER}/admin/api` }, ISSUER),
    'never the admin API’s tokens',
  )
  t.ok(mayIntrospectAccessToken(caller(false, [PHOTOS]), { client_id: 'app', aud: ['x', PHOTOS] }, ISSUER), 'an audience array')
  t.notOk(mayIntrospectAccessToken(caller(true, [PHOTOS]), { client_id: 'app' }, ISSUER), 'no audience at all')
})
