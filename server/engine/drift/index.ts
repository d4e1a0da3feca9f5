/** Drift statistics: PSI, two-sample Kolmogorov–Smirnov, chi-square. */
export * from './psi';
export * from './ks';
export * from './chisquare';
export { kolmogn, smirnov } from './kolmogorov';
export * from './select';
