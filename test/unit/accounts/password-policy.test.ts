import t from 'tap'
import { MIN_PASSWORD_LENGTH, passwordProblem } from '../../../src/accounts/password-policy.js'
import { MAX_PASSWORD_LENGTH } from '../../../src/accounts/password-hasher.js'

t.test('length: at least 8 characters counted as typed, at most 1024', async (t) => {
  t.equal(MIN_PASSWORD_LENGTH, 8)
  t.match(passwordProblem('sQ7#kd2'), /at least 8/)
  t.equal(passwordProblem('sQ7#kd2x'), null, 'exactly 8 uncommon characters pass')
  t.equal(passwordProblem('x'.repeat(7) + ' '), null, 'a trailing space counts: nothing is trimmed')
  t.match(passwordProblem('🔑🔑🔑🔑🔑🔑🔑'), /at least 8/, 'seven emoji are seven characters, not fourteen code units')
  t.equal(passwordProblem('🔑🔑🔑🔑🔑🔑🔑🔑'), null)
  t.equal(passwordProblem('z'.repeat(128)), null, '128 characters are allowed')
  t.equal(passwordProblem('z'.repeat(MAX_PASSWORD_LENGTH)), null)
  t.match(passwordProblem('z'.repeat(MAX_PASSWORD_LENGTH + 1)), /at most/)
})

t.test('common passwords are refused whatever their letter case; no composition rules', async (t) => {
  for (const common of ['password', 'password1', 'Password123', 'QWERTYUIOP', 'iloveyou', '12345678', 'baseball']) {
    t.match(passwordProblem(common), /too common/, common)
  }
  t.equal(passwordProblem('correct horse battery staple'), null, 'a long passphrase of common words is fine')
  t.equal(passwordProblem('alllowercaseletters'), null, 'no digit or symbol needed')
})
