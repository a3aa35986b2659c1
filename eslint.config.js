// Lint: typescript-eslint's strict type-checked rules, and the layers of ARCHITECTURE.md as an
// import rule, so that an import pointing up a layer fails the build instead of a review.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * Layers from the top down; a module may import its own layer and those below it. Paths are
 * relative to src/. `errors.ts`, `inet/` and `validate/` are the floor every layer stands on.
 */
const LAYERS = [
  ['cli', 'cni', 'daemon'],
  ['client'],
  ['index.ts'],
  ['ctnet.ts', 'doctor'],
  ['network', 'firewall', 'ipam', 'dns', 'cluster'],
  ['state'],
  ['netlink', 'netns'],
  ['native'],
  ['inet', 'validate', 'errors.ts'],
];

/** For the modules of layer `i`: every module of a higher layer, as import patterns. */
function forbiddenAbove(i) {
  return LAYERS.slice(0, i)
    .flat()
    .flatMap((m) => (m.endsWith('.ts') ? [`**/src/${m.replace(/\.ts$/, '.js')}`, `**/${m.replace(/\.ts$/, '.js')}`] : [`**/src/${m}/**`, `**/${m}/**`]));
}

const layerRules = LAYERS.flatMap((layer, i) =>
  i === 0
    ? []
    : layer.map((m) => ({
        files: [m.endsWith('.ts') ? `src/${m}` : `src/${m}/**/*.ts`],
        ignores: ['src/**/*.test.ts'],
        rules: {
          'no-restricted-imports': [
            'error',
            { patterns: [{ group: forbiddenAbove(i), message: `src/${m} is below that module in ARCHITECTURE.md's layers: imports only point down` }] },
          ],
        },
      })),
);

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'build/', 'bench-results/', 'eslint.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // Numbers and bigints read well in messages; objects and undefined do not.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // node:test runs what test() and describe() return itself.
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite'] }] },
      ],
    },
  },
  // Fakes in tests implement async interfaces without awaiting, and tests delete keys to build bad input.
  {
    files: ['**/*.test.ts', 'test/**/*.ts'],
    rules: {
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-dynamic-delete': 'off',
      // Assertions on `list[0]?.x` read the same whether or not the element is known to be there.
      '@typescript-eslint/no-unnecessary-condition': 'off',
    },
  },
  // The two-line bin launchers are plain JavaScript outside the TypeScript project.
  { files: ['**/*.js'], ...tseslint.configs.disableTypeChecked },
  ...layerRules,
);
