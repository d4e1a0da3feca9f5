/**
 * The layers, enforced (`npm run lint` runs this after ESLint; see docs/architecture.md):
 *
 *   extension/ ──types only──▶ server/protocol/ ◀── server/lsp/, server/cli/, tests
 *        │                                             │
 *        └──▶ webview/protocol.ts (chart contract)     ▼
 *   webview/ ──▶ its own code and shared/              server/engine/ (no lsp, cli, demo, webview, extension)
 *   shared/  ──▶ nothing outside shared/: pure helpers all of them use (SPC points, gate states)
 *
 * and no import cycles anywhere (type-only imports included: a cycle of types is still a knot).
 * Inside extension/: commands/ holds only commands (imported by extension.ts alone, none importing
 * another); what they share is in services/ (state, the sidecar), ui/ (pickers, modals) and text/
 * (pure text builders, no `vscode`, so unit tests import them as they are).
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'Modules import each other in a circle: move what both need into a third module.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'engine-stays-plain',
      severity: 'error',
      comment:
        'The engine is plain TypeScript under two thin faces (LSP, CLI): it imports none of them, nor the editor or webview code.',
      from: { path: '^server/engine/' },
      to: { path: '^(server/(lsp|cli|demo)|webview|extension)/' },
    },
    {
      name: 'protocol-is-neutral',
      severity: 'error',
      comment:
        'server/protocol is shared by the extension, the sidecar, the CLI and the tests: it imports engine types only.',
      from: { path: '^server/protocol/' },
      to: { path: '^(server/(lsp|cli|demo)|webview|extension)/' },
    },
    {
      name: 'protocol-takes-engine-types-only',
      severity: 'error',
      comment: 'The contract may name engine types, never pull engine code into the extension bundle.',
      from: { path: '^server/protocol/' },
      to: { path: '^server/engine/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'extension-through-the-protocol',
      severity: 'error',
      comment:
        'The extension talks to the engine only through server/protocol; engine modules may be imported for their types only.',
      from: { path: '^extension/' },
      to: { path: '^server/(engine|lsp|cli|demo)/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'commands-are-leaves',
      severity: 'error',
      comment:
        'Only extension.ts registers commands: what another module needs from a command file belongs in extension/services, ui or text.',
      from: { path: '^extension/', pathNot: '^extension/(extension\\.ts$|commands/)' },
      to: { path: '^extension/commands/' },
    },
    {
      name: 'commands-do-not-share-code',
      severity: 'error',
      comment:
        'A command file imports no other command file (index.ts lists them, command.ts types them): move the shared code into extension/services, ui or text.',
      from: { path: '^extension/commands/', pathNot: '^extension/commands/index\\.ts$' },
      to: { path: '^extension/commands/', pathNot: '^extension/commands/command\\.ts$' },
    },
    {
      name: 'text-is-plain',
      severity: 'error',
      comment:
        'extension/text builds strings without the editor, so unit tests load it in plain Node: no vscode, and no editor module but tree/format.ts (types excepted).',
      from: { path: '^extension/text/' },
      to: {
        path: '^(vscode|node_modules/vscode-languageclient/|extension/(?!text/|tree/format\\.ts$))',
        dependencyTypesNot: ['type-only'],
      },
    },
    {
      name: 'webview-is-a-leaf',
      severity: 'error',
      comment:
        'The chart bundle runs in a browser with a strict CSP: it imports its own code, the chart contract and browser libraries only.',
      from: { path: '^webview/' },
      to: { path: '^(server|extension)/' },
    },
    {
      name: 'shared-is-neutral',
      severity: 'error',
      comment: 'shared/ holds pure code the engine, the extension and the webview all use: it depends on none of them.',
      from: { path: '^shared/' },
      to: { path: '^(server|extension|webview)/' },
    },
    {
      name: 'faces-do-not-import-each-other',
      severity: 'error',
      comment: 'The LSP server and the CLI are two faces over the engine; neither imports the other.',
      from: { path: '^server/lsp/' },
      to: { path: '^server/(cli|demo)/' },
    },
    {
      name: 'cli-is-not-the-lsp',
      severity: 'error',
      from: { path: '^server/cli/' },
      to: { path: '^server/lsp/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(node_modules|dist|test-results)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.mjs', '.json'] },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
