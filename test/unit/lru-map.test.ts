import t from 'tap'
import { LruMap } from '../../src/lru-map.js'

t.test('keeps at most its limit, dropping the least recently used', async (t) => {
  const map = new LruMap<string, number>(2)
  map.set('a', 1)
  map.set('b', 2)
  t.equal(map.get('a'), 1, 'a is now the most recently used')
  map.set('c', 3)
  t.equal(map.size, 2)
  t.equal(map.get('b'), undefined, 'b went')
  t.equal(map.get('a'), 1)
  t.equal(map.get('c'), 3)
})

t.test('setting a kept key replaces it without dropping another', async (t) => {
  const map = new LruMap<string, number>(2)
  map.set('a', 1)
  map.set('b', 2)
  map.set('a', 10)
  t.equal(map.size, 2)
  t.same([map.get('a'), map.get('b')], [10, 2])
  t.ok(map.delete('a'))
  t.notOk(map.delete('a'), 'already gone')
  t.equal(map.size, 1)
})
