import t from 'tap'
import { matchesRegisteredUri as matches, registrationProblem } from '../../../src/oauth/redirect-uri.js'

/** As a native (public) client: the most permissive matching; everything refused here is refused for every client. */
const matchesRegisteredUri = (registered: readonly string[], requested: string) => matches(registered, requested, { nativeLoopback: true })

t.test('registrationProblem refuses dangerous forms', async (t) => {
  const refused: Record<string, string> = {
    fragment: 'https://rp.example/cb#frag',
    'empty fragment': 'https://rp.example/cb#',
    'wildcard host': 'https://*.rp.example/cb',
    'wildcard path': 'https://rp.example/*',
    'relative path': '/callback',
    'protocol-relative': '//rp.example/cb',
    'bare word': 'callback',
    empty: '',
    javascript: 'javascript:alert(1)',
    'javascript mixed case': 'JaVaScRiPt:alert(1)',
    'javascript upper case': 'JAVASCRIPT:alert(document.domain)',
    'javascript with a fake //': 'javascript://rp.example/%0aalert(1)',
    data: 'data:text/html,<script>alert(1)</script>',
    'data mixed case': 'DaTa:text/html;base64,PHNjcmlwdD4=',
    vbscript: 'vbscript:msgbox(1)',
    'vbscript mixed case': 'VbScRiPt:msgbox(1)',
    file: 'file:///etc/passwd',
    'plain http to a host': 'http://rp.example/cb',
    'http to a host that starts like localhost': 'http://localhost.evil.test/cb',
    'http to a host that starts like 127.0.0.1': 'http://127.0.0.1.evil.test/cb',
    credentials: 'https://user:pass@rp.example/cb',
    'username only': 'https://user@rp.example/cb',
    'credentials on loopback': 'http://user@127.0.0.1/cb',
    'loopback-looking userinfo': 'http://127.0.0.1:8080@evil.test/cb',
    whitespace: 'https://rp.example/c b',
    'leading whitespace': ' https://rp.example/cb',
    newline: 'https://rp.example/cb\n',
    'private scheme without a dot': 'myapp:/callback',
    'too long': `https://rp.example/${'a'.repeat(2000)}`,
    'zero-padded port': 'http://127.0.0.1:09999/cb',
    'explicit default port': 'https://rp.example:443/cb',
    'upper-case host': 'https://RP.example/cb',
    'unicode host': 'https://bücher.example/cb',
  }
  for (const [name, uri] of Object.entries(refused)) {
    const problem = registrationProblem(uri)
    t.ok(problem, `${name}: ${uri.slice(0, 60)} is refused`)
    t.not(problem?.text, '', `${name}: the reason is not empty`)
  }
})

t.test('registrationProblem names the reason, in English and as a code with its values', async (t) => {
  t.match(registrationProblem('https://rp.example/cb#x'), { reason: 'uri_fragment', text: /fragment/ })
  t.match(registrationProblem('https://*.rp.example/cb'), { reason: 'uri_wildcard', text: /wildcard/ })
  t.match(registrationProblem('/cb'), { reason: 'uri_not_absolute', text: /absolute/ })
  t.same(registrationProblem('JaVaScRiPt:alert(1)'), {
    reason: 'uri_scheme_forbidden',
    text: 'must not use the javascript: scheme',
    params: { scheme: 'javascript:' },
  })
  t.match(registrationProblem('http://rp.example/cb'), { reason: 'uri_http_not_loopback', text: /https/ })
  t.match(registrationProblem('https://u:p@rp.example/cb'), { reason: 'uri_credentials', text: /credentials/ })
  t.same(registrationProblem('https://RP.example/cb'), {
    reason: 'uri_not_canonical',
    text: 'must be written in canonical form (https://rp.example/…)',
    params: { canonical: 'https://rp.example/…' },
  })
})

t.test('registrationProblem accepts safe forms', async (t) => {
  const accepted = [
    'https://rp.example/cb',
    'https://rp.example:8443/cb?tenant=a',
    'https://rp.example',
    'http://127.0.0.1/cb',
    'http://127.0.0.1:8080/cb',
    'http://[::1]/cb',
    'http://[::1]:53000/cb',
    'http://localhost/cb',
    'http://localhost:3000/cb',
    'com.example.app:/oauth2redirect',
    'com.example.app:/callback',
    'io.github.user.app://cb',
  ]
  for (const uri of accepted) t.equal(registrationProblem(uri), null, uri)
})

t.test('matchesRegisteredUri: exact byte match', async (t) => {
  const registered = ['https://rp.example/callback', 'https://rp.example/other?tenant=a']
  t.ok(matchesRegisteredUri(registered, 'https://rp.example/callback'))
  t.ok(matchesRegisteredUri(registered, 'https://rp.example/other?tenant=a'))

  const refused: Record<string, string> = {
    'trailing slash': 'https://rp.example/callback/',
    'other path case': 'https://rp.example/Callback',
    'other host case': 'https://RP.example/callback',
    'other scheme case': 'HTTPS://rp.example/callback',
    'extra query': 'https://rp.example/callback?x=1',
    'empty query': 'https://rp.example/callback?',
    'other query value': 'https://rp.example/other?tenant=b',
    'extra query on a query URI': 'https://rp.example/other?tenant=a&x=1',
    fragment: 'https://rp.example/callback#x',
    'empty fragment': 'https://rp.example/callback#',
    'other port': 'https://rp.example:8443/callback',
    'explicit default port': 'https://rp.example:443/callback',
    'user@host': 'https://attacker@rp.example/callback',
    'host as userinfo': 'https://rp.example@evil.test/callback',
    'dot-dot': 'https://rp.example/callback/../callback',
    'dot-dot to another path': 'https://rp.example/callback/../admin',
    'dot-dot-semicolon': 'https://rp.example/callback/..;/admin',
    'percent-encoded letter': 'https://rp.example/%63allback',
    'percent-encoded slash': 'https://rp.example%2Fcallback',
    'double-encoded': 'https://rp.example/callback%252F..',
    'encoded dot-dot': 'https://rp.example/callback/%2e%2e/admin',
    prefix: 'https://rp.example/callbackx',
    'suffix host': 'https://rp.example.evil.test/callback',
    'http instead of https': 'http://rp.example/callback',
    'trailing dot host': 'https://rp.example./callback',
    whitespace: 'https://rp.example/callback ',
    empty: '',
  }
  for (const [name, uri] of Object.entries(refused)) t.notOk(matchesRegisteredUri(registered, uri), `${name}: ${uri}`)
})

t.test('matchesRegisteredUri: nothing matches an empty registration', async (t) => {
  t.notOk(matchesRegisteredUri([], 'https://rp.example/callback'))
  t.notOk(matchesRegisteredUri([], 'http://127.0.0.1:8080/cb'))
})

t.test('matchesRegisteredUri: loopback URIs may vary in port only (RFC 8252 §7.3)', async (t) => {
  const registered = ['http://127.0.0.1/cb', 'http://[::1]:1234/native']
  t.ok(matchesRegisteredUri(registered, 'http://127.0.0.1/cb'))
  t.ok(matchesRegisteredUri(registered, 'http://127.0.0.1:8080/cb'))
  t.ok(matchesRegisteredUri(registered, 'http://127.0.0.1:53123/cb'))
  t.ok(matchesRegisteredUri(registered, 'http://[::1]:1234/native'))
  t.ok(matchesRegisteredUri(registered, 'http://[::1]:49152/native'))
  t.ok(matchesRegisteredUri(registered, 'http://[::1]/native'))
  t.ok(matchesRegisteredUri(registered, 'http://127.0.0.1:65535/cb'), 'highest port')

  const refused: Record<string, string> = {
    'other path': 'http://127.0.0.1:8080/other',
    'trailing slash': 'http://127.0.0.1:8080/cb/',
    'extra query': 'http://127.0.0.1:8080/cb?x=1',
    fragment: 'http://127.0.0.1:8080/cb#x',
    'https instead of http': 'https://127.0.0.1:8080/cb',
    'other loopback family': 'http://[::1]:8080/cb',
    'other address': 'http://127.0.0.2:8080/cb',
    'localhost is not a loopback literal': 'http://localhost:8080/cb',
    'localhost.evil.test': 'http://localhost.evil.test:8080/cb',
    '127.0.0.1 as a subdomain': 'http://127.0.0.1.evil.test:8080/cb',
    userinfo: 'http://evil@127.0.0.1:8080/cb',
    'dot-dot': 'http://127.0.0.1:8080/cb/../cb',
    'percent-encoded': 'http://127.0.0.1:8080/%63b',
    'empty port': 'http://127.0.0.1:/cb',
    'non-numeric port': 'http://127.0.0.1:abc/cb',
    'port out of range': 'http://127.0.0.1:99999/cb',
    'port 65536': 'http://127.0.0.1:65536/cb',
    'ipv6 path on ipv4 registration': 'http://[::1]:8080/cb',
    'loopback-looking userinfo': 'http://127.0.0.1:8080@evil.test/cb',
    'backslash after the port': 'http://127.0.0.1:8080\\@evil.test/cb',
    'backslash after the host': 'http://127.0.0.1\\@evil.test/cb',
    'at-sign in the path': 'http://127.0.0.1:8080/cb@evil.test',
    'zero-padded port': 'http://127.0.0.1:08080/cb',
    'zero-padded registered port': 'http://127.0.0.1:01234/cb',
    'port zero': 'http://127.0.0.1:0/cb',
  }
  for (const [name, uri] of Object.entries(refused)) t.notOk(matchesRegisteredUri(registered, uri), `${name}: ${uri}`)
})

t.test('matchesRegisteredUri: a registered localhost URI is matched exactly, port included', async (t) => {
  const registered = ['http://localhost:3000/cb']
  t.ok(matchesRegisteredUri(registered, 'http://localhost:3000/cb'))
  t.notOk(matchesRegisteredUri(registered, 'http://localhost:4000/cb'))
  t.notOk(matchesRegisteredUri(registered, 'http://localhost.evil.test:3000/cb'))
})

t.test('matchesRegisteredUri: a non-loopback port is never ignored', async (t) => {
  t.notOk(matchesRegisteredUri(['https://rp.example:8443/cb'], 'https://rp.example:9443/cb'))
  t.notOk(matchesRegisteredUri(['https://rp.example:8443/cb'], 'https://rp.example/cb'))
  t.notOk(matchesRegisteredUri(['http://localhost/cb'], 'http://localhost:8080/cb'))
})

t.test('matchesRegisteredUri: private-use schemes match exactly', async (t) => {
  const registered = ['com.example.app:/oauth2redirect']
  t.ok(matchesRegisteredUri(registered, 'com.example.app:/oauth2redirect'))
  t.notOk(matchesRegisteredUri(registered, 'com.example.app:/oauth2redirect/'))
  t.notOk(matchesRegisteredUri(registered, 'COM.EXAMPLE.APP:/oauth2redirect'))
  t.notOk(matchesRegisteredUri(registered, 'com.example.app://oauth2redirect'))
})

t.test('matchesRegisteredUri: port variation is for native (public) clients only (RFC 8252 §7.3)', async (t) => {
  const registered = ['http://127.0.0.1:9999/cb']
  const web = (uri: string) => matches(registered, uri, { nativeLoopback: false })
  t.ok(web('http://127.0.0.1:9999/cb'), 'the registered URI itself')
  t.notOk(web('http://127.0.0.1:9998/cb'), 'a confidential client gets no port variation')
  t.notOk(web('http://127.0.0.1/cb'))
  t.notOk(web('http://127.0.0.1:09999/cb'), 'nor zero-padded digits')
  const native = (uri: string) => matches(registered, uri, { nativeLoopback: true })
  t.ok(native('http://127.0.0.1:9998/cb'), 'a native app may use any port')
  t.notOk(native('http://127.0.0.1:09999/cb'), 'but only in canonical digits')
})
