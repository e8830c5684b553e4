import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { createStructuredContentValidator, type StructuredContentVerdict } from '../../src/contract/index.js';
import { routeOneOfsByType } from '../../src/contract/structured-content.js';
import { seeded } from '../helpers/random.js';

// The validator on its own, as the Public API uses it: paths are relative to the value checked.
const validator = createStructuredContentValidator();

const button = (title: string) => ({
  type: 'button',
  title,
  click: { actions: [{ type: 'publishText', text: title }] },
});

function findings(verdict: StructuredContentVerdict): { path: string; message: string }[] {
  assert.equal(verdict.ok, false, 'expected the content to be refused');
  return verdict.ok ? [] : verdict.errors;
}

describe('structured content validator', () => {
  it('accepts the templates LivePerson documents', () => {
    const valid: unknown[] = [
      { type: 'vertical', elements: [button('Recommend a movie')] },
      { type: 'text', text: 'a bare element is a card too' },
      {
        type: 'horizontal',
        elements: [
          { type: 'image', url: 'https://example.com/a.png', caption: 'A' },
          { type: 'map', la: 49.43, lo: 7.75, alt: 'here' },
        ],
      },
      {
        type: 'carousel',
        padding: 10,
        elements: [
          {
            type: 'vertical',
            elements: [{ type: 'text', text: 'One', style: { bold: true, color: '#000000' } }, button('1')],
          },
          { type: 'vertical', elements: [{ type: 'text', text: 'Two' }, button('2')] },
        ],
      },
      {
        type: 'vertical',
        elements: [
          {
            type: 'button',
            title: 'Open',
            click: {
              actions: [{ type: 'link', name: 'Open', uri: 'https://example.com' }],
              metadata: [{ type: 'ExternalId', id: 'x' }],
            },
          },
        ],
      },
    ];
    for (const content of valid) assert.deepEqual(validator.validate(content), { ok: true }, JSON.stringify(content));
  });

  it('names one unknown element type instead of every kind it is not', () => {
    assert.deepEqual(findings(validator.validate({ type: 'vertical', elements: [{ type: 'foo' }] })), [
      {
        path: '/elements/0/type',
        message:
          'must be one of "text", "image", "button", "map", "linkPreview", "template", "keyValuePairList", "horizontal", "vertical", "carousel", "carouselSelect", "accordionSelect", "list", "tabs", got "foo"',
      },
    ]);
  });

  it('lists only the types allowed at that spot (a carousel holds cards, not carousels)', () => {
    const nested = {
      type: 'carousel',
      elements: [
        { type: 'carousel', elements: [] },
        { type: 'vertical', elements: [] },
      ],
    };
    const [only, ...rest] = findings(validator.validate(nested));
    assert.deepEqual(rest, []);
    assert.equal(only?.path, '/elements/0/type');
    assert.match(only!.message, /"horizontal", "vertical", got "carousel"$/);
    assert.doesNotMatch(only!.message, /"carousel",/);
  });

  it('reports the field of the matching kind', () => {
    assert.deepEqual(findings(validator.validate({ type: 'vertical', elements: [{ type: 'text', text: 5 }] })), [
      { path: '/elements/0/text', message: 'must be a string, got 5' },
    ]);
    assert.deepEqual(
      findings(validator.validate({ type: 'vertical', elements: [{ type: 'text', text: 'x'.repeat(5001) }] })),
      [{ path: '/elements/0/text', message: 'must be at most 5000 characters long, got 5001' }],
    );
  });

  it('checks formats json-pollock declares (a link action needs a URI)', () => {
    const content = {
      type: 'vertical',
      elements: [
        { type: 'button', title: 'Open', click: { actions: [{ type: 'link', name: 'Open', uri: 'not a uri' }] } },
      ],
    };
    assert.deepEqual(findings(validator.validate(content)), [
      { path: '/elements/0/click/actions/0/uri', message: 'must be a valid uri, got "not a uri"' },
    ]);
  });

  it('goes deep: a style inside a horizontal inside a vertical', () => {
    const content = {
      type: 'vertical',
      elements: [{ type: 'horizontal', elements: [{ type: 'text', text: 'a', style: { bold: 'yes' } }] }],
    };
    assert.deepEqual(findings(validator.validate(content)), [
      { path: '/elements/0/elements/0/style/bold', message: 'must be a boolean, got "yes"' },
    ]);
  });

  it('reports every broken element, most specific first', () => {
    const content = {
      type: 'vertical',
      elements: [
        { type: 'nope' },
        { type: 'text', text: 5 },
        { type: 'button', title: 'x', click: { actions: [{ type: 'publishTxt', text: 'a' }] } },
      ],
    };
    assert.deepEqual(
      findings(validator.validate(content)).map((f) => f.path),
      ['/elements/2/click/actions/0/type', '/elements/1/text', '/elements/0/type'],
    );
  });

  it('explains content that is not an element at all', () => {
    assert.match(
      findings(validator.validate('hello'))[0]!.message,
      /^must be an element object with a "type" \(one of "text", .*\), got "hello"$/,
    );
    assert.deepEqual(
      findings(validator.validate({ elements: [] })).map((f) => f.path),
      [''],
    );
    assert.match(findings(validator.validate({ elements: [] }))[0]!.message, /^must have a "type", one of /);
  });

  it('escapes property names in paths', () => {
    const [finding] = findings(validator.validate({ type: 'text', text: 'a', 'a/b': 1 }));
    assert.deepEqual(finding, { path: '/a~1b', message: 'is not an allowed property of "text" elements' });
  });
});

describe('quick replies validator', () => {
  const quickReplies = { type: 'quickReplies', itemsPerRow: 8, replies: [button('yes'), button('no')] };

  it('accepts LivePerson’s example, and itemsPerRow may be left out', () => {
    assert.deepEqual(validator.validateQuickReplies(quickReplies), { ok: true });
    const { itemsPerRow: _, ...withoutLayout } = quickReplies;
    assert.deepEqual(validator.validateQuickReplies(withoutLayout), { ok: true });
  });

  it('checks the limits: 1–24 replies, 1–8 per row', () => {
    assert.deepEqual(findings(validator.validateQuickReplies({ ...quickReplies, replies: [] })), [
      { path: '/replies', message: 'must have at least 1 item, got 0' },
    ]);
    const many = Array.from({ length: 25 }, (_, i) => button(String(i)));
    assert.deepEqual(findings(validator.validateQuickReplies({ ...quickReplies, replies: many })), [
      { path: '/replies', message: 'must have at most 24 items, got 25' },
    ]);
    assert.deepEqual(findings(validator.validateQuickReplies({ ...quickReplies, itemsPerRow: 0 })), [
      { path: '/itemsPerRow', message: 'must be >= 1, got 0' },
    ]);
  });

  it('replies are buttons', () => {
    const verdict = validator.validateQuickReplies({ ...quickReplies, replies: [{ type: 'text', text: 'a' }] });
    assert.deepEqual(
      findings(verdict).map((f) => f.path),
      ['/replies/0/text', '/replies/0/type', '/replies/0'],
    );
  });

  it('the type must be quickReplies', () => {
    assert.deepEqual(findings(validator.validateQuickReplies({ ...quickReplies, type: 'quickreplies' })), [
      { path: '/type', message: 'must be "quickReplies", got "quickreplies"' },
    ]);
  });

  it('two validators are independent', () => {
    const other = createStructuredContentValidator();
    assert.deepEqual(other.validateQuickReplies(quickReplies), { ok: true });
    assert.deepEqual(validator.validate({ type: 'foo' }), other.validate({ type: 'foo' }));
  });
});

// ---------------------------------------------------------------------------------------------
// The type-guided rewrite of json-pollock's oneOfs: same verdicts, linear time, bounded input.
// ---------------------------------------------------------------------------------------------

function pollockDocuments(): Map<string, Record<string, unknown>> {
  const dir = join(dirname(createRequire(import.meta.url).resolve('json-pollock/package.json')), 'js', 'schema');
  return new Map(
    readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .map((f) => [f, JSON.parse(readFileSync(join(dir, f), 'utf8'))]),
  );
}

/**
 * The verdict of json-pollock's schemas exactly as shipped, from a plain Ajv: the reference the
 * rewritten schemas must agree with. Without allErrors, so it stays fast on nested samples.
 */
function shippedSchemas() {
  const ajv = new Ajv({ allErrors: false, strict: false });
  addFormats.default(ajv);
  ajv.addFormat('color', true);
  ajv.addFormat('text', true);
  for (const [name, schema] of pollockDocuments()) ajv.addSchema(schema, name);
  return { richContent: ajv.getSchema('rich_content.json')!, button: ajv.getSchema('button.json')! };
}

/** Random templates of every json-pollock kind, a few levels deep, about half of them broken somewhere. */
function templates(random: () => number) {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const many = <T>(make: () => T, min: number, max: number): T[] =>
    Array.from({ length: min + Math.floor(random() * (max - min + 1)) }, make);
  const TYPES = [
    'text',
    'image',
    'button',
    'map',
    'linkPreview',
    'template',
    'keyValuePairList',
    'horizontal',
    'vertical',
    'carousel',
    'list',
    'tabs',
    'publishText',
    'link',
    'checkbox',
    'section',
    'bogus',
  ];
  const WRONG: unknown[] = [null, 5, 'text', true, [], {}, 'x'.repeat(6000), -1, 1.5];
  // Now and then: no type (text, image, button… need none), another or a non-string type, a key
  // dropped or added, a wrong value, or not an object at all.
  const mutate = (value: Record<string, unknown>): unknown => {
    if (random() > 0.12) return value;
    const keys = Object.keys(value);
    switch (Math.floor(random() * 7)) {
      case 0: {
        const { type: _, ...rest } = value;
        return rest;
      }
      case 1:
        return { ...value, type: pick(TYPES) };
      case 2:
        return { ...value, type: pick([5, null, 'Text', ''] as unknown[]) };
      case 3: {
        const copy = { ...value };
        delete copy[pick(keys)!];
        return copy;
      }
      case 4:
        return {
          ...value,
          [pick(['extra', 'caption', 'title', 'url', 'text', 'elements', 'la', 'tooltip'])]: pick([
            'x',
            3,
            [],
            { a: 1 },
          ] as unknown[]),
        };
      case 5:
        return keys.length ? { ...value, [pick(keys)]: pick(WRONG) } : value;
      default:
        return pick(WRONG);
    }
  };
  const action = (): unknown =>
    mutate(
      pick([
        () => ({ type: 'publishText', text: 'hi' }),
        () => ({ type: 'link', uri: pick(['https://example.com', 'not a uri']), name: 'n' }),
        () => ({ type: 'navigate', la: 1.5, lo: 2.5 }),
        () => ({ type: 'addToCart', items: [{ productId: 'p', quantity: 1 }] }),
        () => ({ type: 'custom', data: [{ key: 'k', value: 'v' }] }),
        () => ({ type: 'datePicker', class: 'single' }),
        () => ({ type: 'scheduleSlotList', slots: [] }),
      ])(),
    );
  const click = () =>
    random() < 0.5
      ? { actions: many(action, 0, 2) }
      : { actions: [action()], metadata: [{ type: 'ExternalId', id: 'x' }] };
  const basic = (): unknown =>
    mutate(
      pick([
        () => ({
          type: 'text',
          text: 'hello',
          ...(random() < 0.3 ? { style: { bold: pick([true, 'yes'] as unknown[]) } } : {}),
        }),
        () => ({ type: 'image', url: 'https://example.com/a.png', ...(random() < 0.5 ? { caption: 'c' } : {}) }),
        () => ({ type: 'button', title: 'Go', click: click() }),
        () => ({ type: 'map', la: 1.5, lo: 2.5 }),
        () => ({ type: 'linkPreview', url: 'https://example.com', ...(random() < 0.5 ? { title: 't' } : {}) }),
        () => ({ type: 'template', templateType: 'quickReply', title: 't', resp: ['a'] }),
        () => ({ type: 'keyValuePairList', elements: [{ key: 'k', value: 'v' }] }),
      ])(),
    );
  const card = (depth: number): unknown =>
    depth <= 0 || random() < 0.45
      ? basic()
      : mutate({ type: pick(['vertical', 'horizontal']), elements: many(() => richContent(depth - 1), 0, 3) });
  const checkbox = () =>
    mutate({ type: 'checkbox', text: 'a', click: { actions: [{ type: 'checked', publishText: 'x' }] } });
  const checklist = () => mutate({ type: 'checklist', elements: [checkbox(), checkbox()] });
  const richContent = (depth: number): unknown => {
    if (depth <= 0 || random() < 0.6) return card(depth);
    return mutate(
      pick([
        () => ({ type: 'carousel', elements: many(() => card(depth - 1), 1, 3) }),
        () => ({
          type: 'carouselSelect',
          selectMode: { name: 'n', type: 'single' },
          elements: many(() => card(depth - 1), 1, 2),
        }),
        () => ({
          type: 'accordionSelect',
          selectMode: { name: 'n' },
          titles: [{ name: 't' }],
          elements: many(() => card(depth - 1), 1, 2),
        }),
        () => ({ type: 'tabs', elements: many(() => card(depth - 1), 1, 2) }),
        () => ({
          type: 'list',
          elements: [
            { type: 'text', text: 'List' },
            mutate({
              type: 'sectionList',
              elements: [
                mutate({
                  type: 'section',
                  sectionID: 's',
                  elements: random() < 0.5 ? [checklist()] : [{ type: 'text', text: 't' }, checklist()],
                }),
              ],
            }),
            mutate({
              type: 'buttonList',
              elements: [
                mutate({
                  type: 'submitButton',
                  title: 'ok',
                  click: { actions: [{ type: 'submitAsText', submit: true }] },
                }),
                ...(random() < 0.5 ? [basic()] : []),
              ],
            }),
          ],
        }),
      ])(),
    );
  };
  return { richContent, button: () => mutate({ type: 'button', title: 'Go', click: click() }) };
}

/** `{type: "vertical", elements: [ … ]}` `levels` times around one text, built without recursion. */
function nestedVerticals(levels: number, type: string | null = 'vertical'): unknown {
  let content: unknown = { type: 'text', text: 'x' };
  for (let i = 0; i < levels; i++) content = { ...(type === null ? {} : { type }), elements: [content] };
  return content;
}

/** A liveness bound only: these took from seconds to hours before the rewrite, and take milliseconds now. */
function timed<T>(run: () => T): { value: T; ms: number } {
  const start = performance.now();
  const value = run();
  return { value, ms: performance.now() - start };
}

describe('structured content validator: same verdicts as json-pollock, in linear time', () => {
  it('gives the verdict of the schemas as shipped on thousands of generated templates', () => {
    const shipped = shippedSchemas();
    const generate = templates(seeded(20240611));
    let valid = 0;
    for (let i = 0; i < 3000; i++) {
      const content = generate.richContent(3);
      const expected = shipped.richContent(content);
      valid += expected ? 1 : 0;
      assert.equal(validator.validate(content).ok, expected, JSON.stringify(content));
    }
    // Both verdicts well represented, or the comparison would prove little.
    assert.ok(valid > 900 && valid < 2100, `${valid} of 3000 valid`);
    for (let i = 0; i < 1000; i++) {
      const reply = generate.button();
      assert.equal(
        validator.validateQuickReplies({ type: 'quickReplies', replies: [reply] }).ok,
        shipped.button(reply),
        JSON.stringify(reply),
      );
    }
  });

  it('gives the verdict of the schemas as shipped on the edges of the type rules', () => {
    const shipped = shippedSchemas();
    const corpus: unknown[] = [
      null,
      5,
      'text',
      true,
      [],
      {},
      { type: 5 },
      { type: null },
      { type: '' },
      { type: 'Text', text: 'a' },
      { text: 'no type is fine for a text' },
      { url: 'https://example.com' }, // an image and a linkPreview both: oneOf refuses it
      { url: 'https://example.com', caption: 'only an image has a caption' },
      { title: 'a button without type' },
      { elements: [] },
      { type: 'vertical' },
      { type: 'vertical', elements: [{ elements: [] }] },
      { type: 'vertical', elements: [{ url: 'https://example.com', title: 'a linkPreview' }] },
      { type: 'carousel', elements: [{ text: 'a' }, { title: 'b' }] },
      { type: 'button', title: 'x', click: { actions: [{ text: 'no type' }] } },
      {
        type: 'list',
        elements: [
          { type: 'text', text: 'a' },
          { type: 'sectionList', elements: [{ type: 'section', sectionID: 's', elements: [] }] },
          { type: 'buttonList', elements: [] },
        ],
      },
      nestedVerticals(3, null),
    ];
    for (const content of corpus)
      assert.equal(validator.validate(content).ok, shipped.richContent(content), JSON.stringify(content));
  });

  it('validates verticals nested 6 and 11 deep (the most the limits allow) at once', () => {
    for (const levels of [6, 11]) {
      const { value, ms } = timed(() => validator.validate(nestedVerticals(levels)));
      assert.deepEqual(value, { ok: true });
      assert.ok(ms < 1000, `${levels} levels took ${ms} ms`);
    }
    // The broken variants too: a wrong leaf, a missing type at every level, a mistyped layout.
    const leaf = nestedVerticals(11) as { elements: unknown[] };
    let inner = leaf;
    for (let i = 0; i < 10; i++) inner = inner.elements[0] as typeof inner;
    inner.elements = [{ type: 'text', text: 5 }];
    const { value: broken, ms } = timed(() => validator.validate(leaf));
    assert.deepEqual(findings(broken), [
      { path: `${'/elements/0'.repeat(11)}/text`, message: 'must be a string, got 5' },
    ]);
    assert.ok(ms < 1000, `took ${ms} ms`);
    const untyped = timed(() => validator.validate(nestedVerticals(11, null)));
    assert.deepEqual(
      findings(untyped.value).map((f) => f.path),
      [''],
    );
    assert.match(findings(untyped.value)[0]!.message, /^must have a "type", one of /);
    assert.ok(untyped.ms < 1000, `took ${untyped.ms} ms`);
    assert.equal(validator.validate(nestedVerticals(11, 'carousel')).ok, false);
  });

  it('validates a full binary tree of layouts, thousands of elements, at once', () => {
    const tree = (levels: number): unknown =>
      levels === 0
        ? { type: 'text', text: 'leaf' }
        : { type: levels % 2 ? 'vertical' : 'horizontal', elements: [tree(levels - 1), tree(levels - 1)] };
    const { value, ms } = timed(() => validator.validate(tree(10)));
    assert.deepEqual(value, { ok: true });
    assert.ok(ms < 1000, `took ${ms} ms`);
  });

  it('refuses content nested deeper than the limit before validating it: 12, 20, 100, 2,000 and 10,000 levels', () => {
    for (const levels of [12, 20, 100, 2000, 10_000]) {
      const { value, ms } = timed(() => validator.validate(nestedVerticals(levels)));
      assert.equal(value.ok, false);
      assert.ok(!value.ok && value.exceeded?.kind === 'depth', JSON.stringify(value));
      // The first level too deep: the text at the bottom of 12 verticals is the 25th.
      assert.deepEqual(findings(value), [
        {
          path: '/elements/0'.repeat(12),
          message: 'is nested deeper than 24 levels of objects and arrays, the most structured content may have',
        },
      ]);
      assert.ok(ms < 1000, `${levels} levels took ${ms} ms`);
    }
    for (const levels of [12, 2000]) {
      const verdict = validator.validateQuickReplies({
        type: 'quickReplies',
        replies: [{ type: 'button', title: 'x', click: { metadata: [nestedVerticals(levels)] } }],
      });
      assert.ok(!verdict.ok && verdict.exceeded?.kind === 'depth');
    }
  });

  it('refuses a 1 MB string by the size limit, and checks a long one under it as usual', () => {
    const huge = timed(() => validator.validate({ type: 'text', text: 'x'.repeat(1_000_000) }));
    assert.ok(!huge.value.ok && huge.value.exceeded?.kind === 'size');
    assert.deepEqual(findings(huge.value), [
      {
        path: '/text',
        message: 'is past the limit of 262144 characters of JSON, the most structured content may have',
      },
    ]);
    assert.ok(huge.ms < 1000, `took ${huge.ms} ms`);
    // Under the limit, even where json-pollock does not bound the length (metadata) or checks a format.
    assert.deepEqual(validator.validate({ type: 'vertical', elements: [], metadata: ['x'.repeat(200_000)] }), {
      ok: true,
    });
    const uri = `https://example.com/${'a/'.repeat(100_000)}`;
    assert.deepEqual(
      findings(validator.validate({ type: 'button', title: 'x', click: { actions: [{ type: 'link', uri }] } })).map(
        (f) => f.message,
      ),
      ['must be at most 1024 characters long, got 200020'],
    );
    assert.deepEqual(findings(validator.validate({ type: 'text', text: 'x'.repeat(200_000) })), [
      { path: '/text', message: 'must be at most 5000 characters long, got 200000' },
    ]);
  });

  it('refuses content of more than 10,000 JSON values', () => {
    const verdict = validator.validate({
      type: 'vertical',
      elements: [],
      metadata: Array.from({ length: 20_000 }, () => 0),
    });
    assert.ok(!verdict.ok && verdict.exceeded?.kind === 'nodes');
    // The root, "type", "elements", "metadata": the 10,001st value is the 9,997th item.
    assert.deepEqual(findings(verdict), [
      {
        path: '/metadata/9996',
        message: 'is past the limit of 10000 JSON values, the most structured content may have',
      },
    ]);
  });

  it('never throws, whatever JSON it is given', () => {
    const random = seeded(7);
    const anyJson = (depth: number): unknown => {
      const roll = random();
      if (depth > 40 || roll < 0.3) return [null, 0, -1.5, '', 'text', true, 'x'.repeat(300)][Math.floor(random() * 7)];
      if (roll < 0.6) return Array.from({ length: Math.floor(random() * 3) }, () => anyJson(depth + 1));
      const keys = [
        'type',
        'elements',
        'text',
        'click',
        'actions',
        'title',
        'url',
        '__proto__',
        'constructor',
        'replies',
      ];
      return Object.fromEntries(
        Array.from({ length: Math.floor(random() * 4) }, () => [
          keys[Math.floor(random() * keys.length)]!,
          anyJson(depth + 1),
        ]),
      );
    };
    for (let i = 0; i < 500; i++) {
      // Through JSON text, so "__proto__" is an own key as JSON.parse makes it.
      const value = JSON.parse(JSON.stringify(anyJson(0)).replaceAll('"constructor"', '"__proto__"'));
      for (const verdict of [validator.validate(value), validator.validateQuickReplies(value)]) {
        assert.equal(typeof verdict.ok, 'boolean');
        if (!verdict.ok) assert.ok(verdict.errors.length > 0);
      }
    }
  });
});

describe('routeOneOfsByType', () => {
  it('rewrites every choice of json-pollock told apart by type, and only those', () => {
    const documents = pollockDocuments();
    const { rewritten } = routeOneOfsByType(documents);
    const buttonList = documents.get('buttonList.json') as any;
    const section = documents.get('section.json') as any;
    const expected = [
      ...['rich_content.json', 'card.json', 'basic.json', 'action.json'].map((f) => documents.get(f)!),
      buttonList.properties.elements.items[1],
    ];
    assert.deepEqual(new Set(rewritten), new Set(expected));
    for (const node of expected) assert.equal((node as any).oneOf ?? (node as any).anyOf, undefined);
    // Its two alternatives are both arrays, with no type to tell them apart.
    assert.equal(section.properties.elements.oneOf.length, 2);
  });

  it('leaves a choice alone when two alternatives take the same type, or one takes any', () => {
    const element = (type: string, extra: object = {}) => ({
      type: 'object',
      properties: { type: { enum: [type] }, ...extra },
      required: ['type'],
    });
    const overlapping = { oneOf: [element('a'), element('a', { x: { type: 'string' } })] };
    const untold = { oneOf: [element('a'), { type: 'object', required: ['x'], properties: { x: {} } }] };
    const told = { oneOf: [element('a'), element('b')] };
    const documents = new Map(
      Object.entries({ 'overlapping.json': overlapping, 'untold.json': untold, 'told.json': told }),
    );
    const { rewritten } = routeOneOfsByType(documents);
    assert.deepEqual([...rewritten], [told]);
    assert.equal(overlapping.oneOf.length, 2);
    assert.equal(untold.oneOf.length, 2);
    assert.equal('oneOf' in told, false);
  });
});
