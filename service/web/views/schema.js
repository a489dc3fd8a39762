// For developers: the service's GraphQL schema, read by introspection and printed as SDL.
import { h, fill } from '../dom.js';
import { gql } from '../api.js';
import { t } from '../i18n.js';
import { area } from '../ui.js';

const INTROSPECT = `query SchemaTypes {
  __schema { types { kind name description
    fields { name args { name type { ...T } } type { ...T } }
    inputFields { name type { ...T } } enumValues { name } interfaces { name } } }
}
fragment T on __Type { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } }`;

function typeName(ty) {
  if (ty.kind === 'NON_NULL') return `${typeName(ty.ofType)}!`;
  if (ty.kind === 'LIST') return `[${typeName(ty.ofType)}]`;
  return ty.name;
}

function sdl(types) {
  const out = [];
  for (const ty of types.filter((x) => !x.name.startsWith('__')).sort((a, b) => a.name.localeCompare(b.name))) {
    const keyword = { OBJECT: 'type', INPUT_OBJECT: 'input', ENUM: 'enum', SCALAR: 'scalar', INTERFACE: 'interface', UNION: 'union' }[ty.kind];
    if (ty.kind === 'SCALAR') { out.push(`scalar ${ty.name}`, ''); continue; }
    const impl = ty.interfaces && ty.interfaces.length ? ` implements ${ty.interfaces.map((i) => i.name).join(' & ')}` : '';
    out.push(`${keyword} ${ty.name}${impl} {`);
    for (const f of ty.fields || []) {
      const args = f.args.length ? `(${f.args.map((a) => `${a.name}: ${typeName(a.type)}`).join(', ')})` : '';
      out.push(`  ${f.name}${args}: ${typeName(f.type)}`);
    }
    for (const f of ty.inputFields || []) out.push(`  ${f.name}: ${typeName(f.type)}`);
    for (const v of ty.enumValues || []) out.push(`  ${v.name}`);
    out.push('}', '');
  }
  return out.join('\n');
}

export function render({ main }) {
  fill(main,
    h('p', {}, h('a', { href: '#/signin' }, `← ${t('signin.title')}`), ' · ', h('a', { href: '/graphql' }, 'GraphiQL')),
    h('h1', {}, t('schema.title')),
    h('p', {}, t('schema.intro')),
    area(() => gql(INTROSPECT, {}, { anonymous: true }), (data) => h('pre', { class: 'sdl', tabindex: '0' }, sdl(data.__schema.types))));
}
