import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.cache/**', 'out/**', 'test-results/**', '**/*.mjs', '**/*.js'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-imports': 'off',
    },
  },
  {
    // The engine is plain TypeScript: no editor, no LSP transport.
    files: ['server/engine/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                'vscode',
                'vscode-languageserver',
                'vscode-languageserver/*',
                'vscode-languageclient',
                'vscode-languageclient/*',
                'vscode-jsonrpc',
                'vscode-jsonrpc/*',
              ],
              message: 'server/engine must not depend on the editor or the LSP library.',
            },
          ],
        },
      ],
    },
  },
);
