/** Governance: who acts, which aliases are protected, model cards. Approvals and the audit trail live in the registry. */
export { resolveActor, sameActor, cleanActor, type Actor } from './identity';
export {
  readAliasPolicy,
  aliasPolicyOf,
  readApprovalPolicy,
  approvalScope,
  NO_POLICY,
  type AliasPolicy,
  type ApprovalPolicy,
} from './policy';
export {
  buildModelCard,
  renderCardMarkdown,
  renderCardHtml,
  cardSections,
  cardCsp,
  escapeHtml,
  mdText,
  NOT_COMPUTED,
  type ModelCard,
} from './card';
