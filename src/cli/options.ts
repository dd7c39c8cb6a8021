// The flags every command shares (the program's own), as commander hands them to a command's action.
// A file of their own, so that commands and the command tree import them without importing each other.

/** The program-level flags, after commander's defaults and environment variables are applied. */
export interface GlobalOptions {
  /** false with --no-color; undefined lets NO_COLOR, FORCE_COLOR and the terminal decide. */
  color?: boolean;
  configNamespace: string;
  configName: string;
  kubeconfig?: string;
  context?: string;
  /** Milliseconds per API request. */
  requestTimeout: number;
}
