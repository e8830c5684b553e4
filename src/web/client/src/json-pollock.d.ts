/** The prebuilt UMD bundle of json-pollock (its package `main` is untranspiled source with SCSS). */
declare module 'json-pollock/dist/json-pollock.min.js' {
  export interface ActionData {
    actionData: { type: string; text?: string; uri?: string; lo?: number; la?: number; [key: string]: unknown };
    metadata?: unknown;
    uiEvent?: Event;
  }
  interface JsonPollock {
    init(options: {
      maxAllowedElements?: number;
      onAfterElementRendered?: (element: HTMLElement, template: unknown) => HTMLElement | null;
    }): void;
    /** Renders structured content to a DOM element; throws (with `errors`) when the JSON is invalid. */
    render(json: unknown): HTMLElement;
    validate(json: unknown): void;
    registerAction(name: string, callback: (data: ActionData) => void): void;
    unregisterAction(name: string): void;
  }
  const JsonPollock: JsonPollock;
  export default JsonPollock;
}
