import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createStructuredContentValidator, type StructuredContentVerdict } from '../../src/connector/parser/index.js';

// The validator on its own, as the Public API uses it: paths are relative to the value checked.
const validator = createStructuredContentValidator();

const button = (title: string) => ({ type: 'button', title, click: { actions: [{ type: 'publishText', text: title }] } });

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
          { type: 'vertical', elements: [{ type: 'text', text: 'One', style: { bold: true, color: '#000000' } }, button('1')] },
          { type: 'vertical', elements: [{ type: 'text', text: 'Two' }, button('2')] },
        ],
      },
      {
        type: 'vertical',
        elements: [{ type: 'button', title: 'Open', click: { actions: [{ type: 'link', name: 'Open', uri: 'https://example.com' }], metadata: [{ type: 'ExternalId', id: 'x' }] } }],
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
    const nested = { type: 'carousel', elements: [{ type: 'carousel', elements: [] }, { type: 'vertical', elements: [] }] };
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
    assert.deepEqual(findings(validator.validate({ type: 'vertical', elements: [{ type: 'text', text: 'x'.repeat(5001) }] })), [
      { path: '/elements/0/text', message: 'must be at most 5000 characters long, got 5001' },
    ]);
  });

  it('checks formats json-pollock declares (a link action needs a URI)', () => {
    const content = { type: 'vertical', elements: [{ type: 'button', title: 'Open', click: { actions: [{ type: 'link', name: 'Open', uri: 'not a uri' }] } }] };
    assert.deepEqual(findings(validator.validate(content)), [{ path: '/elements/0/click/actions/0/uri', message: 'must be a valid uri, got "not a uri"' }]);
  });

  it('goes deep: a style inside a horizontal inside a vertical', () => {
    const content = { type: 'vertical', elements: [{ type: 'horizontal', elements: [{ type: 'text', text: 'a', style: { bold: 'yes' } }] }] };
    assert.deepEqual(findings(validator.validate(content)), [{ path: '/elements/0/elements/0/style/bold', message: 'must be a boolean, got "yes"' }]);
  });

  it('reports every broken element, most specific first', () => {
    const content = { type: 'vertical', elements: [{ type: 'nope' }, { type: 'text', text: 5 }, { type: 'button', title: 'x', click: { actions: [{ type: 'publishTxt', text: 'a' }] } }] };
    assert.deepEqual(
      findings(validator.validate(content)).map((f) => f.path),
      ['/elements/2/click/actions/0/type', '/elements/1/text', '/elements/0/type'],
    );
  });

  it('explains content that is not an element at all', () => {
    assert.match(findings(validator.validate('hello'))[0]!.message, /^must be an element object with a "type" \(one of "text", .*\), got "hello"$/);
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
    assert.deepEqual(findings(validator.validateQuickReplies({ ...quickReplies, replies: [] })), [{ path: '/replies', message: 'must have at least 1 item, got 0' }]);
    const many = Array.from({ length: 25 }, (_, i) => button(String(i)));
    assert.deepEqual(findings(validator.validateQuickReplies({ ...quickReplies, replies: many })), [{ path: '/replies', message: 'must have at most 24 items, got 25' }]);
    assert.deepEqual(findings(validator.validateQuickReplies({ ...quickReplies, itemsPerRow: 0 })), [{ path: '/itemsPerRow', message: 'must be >= 1, got 0' }]);
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
