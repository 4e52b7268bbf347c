// A planner that cannot plan (a sysctl that does not exist, an unknown package manager) throws
// PlanError; the executor turns it into a failed task result with this message and hint.
export class PlanError extends Error {
  readonly hint: string | undefined;
  constructor(message: string, hint?: string) {
    super(message);
    this.name = "PlanError";
    this.hint = hint;
  }
}
