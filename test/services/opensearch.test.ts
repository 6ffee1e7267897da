// @services opensearch
/**
 * Smoke test: OpenSearch 2.19 started by scripts/services/up, through fetch (as bspump's sink/source will).
 * Index template -> bulk-index 10,000 documents -> search -> scroll through all of them; then the
 * legacy _template API, aliases and _cat/indices.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OPENSEARCH_URL, uniqueName } from '../helpers/services.js';

const DOCS = 10_000;

type Json = Record<string, any>; // free-form OpenSearch JSON

async function os(method: string, path: string, body?: unknown, ndjson = false): Promise<{ status: number; json: Json }> {
  const init: RequestInit = { method, headers: {} };
  if (body !== undefined) {
    init.body = ndjson ? (body as string) : JSON.stringify(body);
    (init.headers as Record<string, string>)['content-type'] = ndjson ? 'application/x-ndjson' : 'application/json';
  }
  const res = await fetch(`${OPENSEARCH_URL}${path}`, init);
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Json) : {} };
}

async function ok(method: string, path: string, body?: unknown, ndjson = false): Promise<Json> {
  const r = await os(method, path, body, ndjson);
  assert.ok(r.status >= 200 && r.status < 300, `${method} ${path} -> ${r.status} ${JSON.stringify(r.json).slice(0, 500)}`);
  return r.json;
}

test('opensearch: index template, bulk 10,000 docs, search, scroll', { timeout: 120_000 }, async () => {
  const prefix = uniqueName('smoke_idx');
  const index = `${prefix}-2024.01.01`;
  const template = `${prefix}_tpl`;
  try {
    await ok('PUT', `/_index_template/${template}`, {
      index_patterns: [`${prefix}-*`],
      template: {
        settings: { number_of_shards: 2, number_of_replicas: 0 },
        mappings: {
          properties: {
            i: { type: 'integer' },
            tag: { type: 'keyword' },
            text: { type: 'text' },
            ts: { type: 'date' },
          },
        },
      },
    });

    // bulk in 5 requests of 2,000 documents, auto-creating the index from the template
    const t0 = Date.UTC(2024, 0, 1);
    for (let start = 0; start < DOCS; start += 2000) {
      let nd = '';
      for (let i = start; i < start + 2000; i++) {
        nd += JSON.stringify({ index: { _index: index, _id: `d${i}` } }) + '\n';
        nd += JSON.stringify({ i, tag: `t${i % 10}`, text: `document number ${i}`, ts: new Date(t0 + i * 1000).toISOString() }) + '\n';
      }
      const res = await ok('POST', '/_bulk', nd, true);
      assert.equal(res.errors, false, JSON.stringify(res.items?.find((x: Json) => x.index?.error)));
      assert.equal(res.items.length, 2000);
      for (const item of res.items as Json[]) assert.equal(item.index.status, 201);
    }
    await ok('POST', `/${index}/_refresh`);

    // the template shaped the index
    const mapping = await ok('GET', `/${index}/_mapping`);
    assert.equal(mapping[index].mappings.properties.tag.type, 'keyword');
    const settings = await ok('GET', `/${index}/_settings`);
    assert.equal(settings[index].settings.index.number_of_shards, '2');

    // search
    assert.equal((await ok('GET', `/${index}/_count`)).count, DOCS);
    const byTag = await ok('POST', `/${index}/_search`, {
      size: 0,
      query: { term: { tag: 't3' } },
      aggs: { total: { sum: { field: 'i' } }, newest: { max: { field: 'ts' } } },
      track_total_hits: true,
    });
    assert.equal(byTag.hits.total.value, DOCS / 10);
    let expected = 0;
    for (let i = 3; i < DOCS; i += 10) expected += i;
    assert.equal(byTag.aggregations.total.value, expected);
    assert.equal(byTag.aggregations.newest.value, t0 + 9993 * 1000);
    const fullText = await ok('POST', `/${index}/_search`, { query: { match: { text: '4242' } } });
    assert.equal(fullText.hits.hits.length, 1);
    assert.equal(fullText.hits.hits[0]._id, 'd4242');
    assert.equal(fullText.hits.hits[0]._source.i, 4242);

    // scroll through everything
    const seen = new Set<number>();
    let page = await ok('POST', `/${index}/_search?scroll=1m`, { size: 1000, sort: ['_doc'], query: { match_all: {} } });
    let scrollId: string = page._scroll_id;
    let pages = 0;
    while (page.hits.hits.length > 0) {
      pages++;
      for (const hit of page.hits.hits as Json[]) {
        assert.equal(hit._id, `d${hit._source.i}`);
        assert.equal(hit._source.text, `document number ${hit._source.i}`);
        assert.ok(!seen.has(hit._source.i), `document ${hit._source.i} returned twice`);
        seen.add(hit._source.i);
      }
      page = await ok('POST', '/_search/scroll', { scroll: '1m', scroll_id: scrollId });
      scrollId = page._scroll_id;
    }
    assert.equal(seen.size, DOCS);
    assert.ok(pages >= DOCS / 1000);
    const cleared = await ok('DELETE', '/_search/scroll', { scroll_id: [scrollId] });
    assert.equal(cleared.succeeded, true);
  } finally {
    await os('DELETE', `/${index}`);
    await os('DELETE', `/_index_template/${template}`);
  }
  assert.equal((await os('HEAD', `/${index}`)).status, 404, 'index deleted');
});

test('opensearch: legacy _template, aliases, _cat/indices', { timeout: 60_000 }, async () => {
  const prefix = uniqueName('smoke_legacy');
  const index = `${prefix}-a`;
  const alias = `${prefix}_alias`;
  const template = `${prefix}_legacy_tpl`;
  try {
    await ok('PUT', `/_template/${template}`, {
      index_patterns: [`${prefix}-*`],
      order: 1,
      settings: { number_of_shards: 1 },
      mappings: { properties: { n: { type: 'long' }, s: { type: 'keyword' } } },
      aliases: { [alias]: {} },
    });
    const got = await ok('GET', `/_template/${template}`);
    assert.deepEqual(got[template].index_patterns, [`${prefix}-*`]);

    await ok('PUT', `/${index}/_doc/1?refresh=true`, { n: 7, s: 'x' });
    const mapping = await ok('GET', `/${index}/_mapping`);
    assert.equal(mapping[index].mappings.properties.s.type, 'keyword');

    // the template's alias points at the index; add and read another through the _aliases API
    const second = `${alias}_2`;
    await ok('POST', '/_aliases', { actions: [{ add: { index, alias: second } }] });
    const aliases = await ok('GET', `/${index}/_alias`);
    assert.deepEqual(Object.keys(aliases[index].aliases).sort(), [alias, second].sort());
    const viaAlias = await ok('GET', `/${second}/_search`);
    assert.equal(viaAlias.hits.hits[0]._source.n, 7);

    const cat = await fetch(`${OPENSEARCH_URL}/_cat/indices/${prefix}-*?format=json&h=index,health,docs.count`);
    assert.equal(cat.status, 200);
    const rows = (await cat.json()) as { index: string; health: string; 'docs.count': string }[];
    assert.deepEqual(rows, [{ index, health: 'green', 'docs.count': '1' }]);
  } finally {
    await os('DELETE', `/${index}`);
    await os('DELETE', `/_template/${template}`);
  }
  assert.equal((await os('GET', `/_template/${template}`)).status, 404, 'template deleted');
});
