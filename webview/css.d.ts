// esbuild loads .css files as text (loader: { '.css': 'text' }); the bundle injects them with the page nonce.
declare module '*.css' {
  const text: string;
  export default text;
}
