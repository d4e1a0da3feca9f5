import type { CommandFactory } from './command';

export const restartSidecar: CommandFactory = (ctx) => async () => {
  ctx.output.info('restarting the sidecar on request');
  await ctx.sidecar.restart();
};

export const showLog: CommandFactory = (ctx) => () => ctx.output.show(true);
