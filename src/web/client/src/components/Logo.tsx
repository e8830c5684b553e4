export function Logo({ small = false }: { small?: boolean }) {
  return (
    <span className={`logo${small ? ' logo-small' : ''}`}>
      <svg viewBox="0 0 32 32" width={small ? 22 : 30} height={small ? 22 : 30} aria-hidden="true" focusable="false">
        <rect width="32" height="32" rx="8" fill="currentColor" />
        <path d="M9 11h14v8H15l-4 3v-3H9z" fill="white" />
      </svg>
      <span className="logo-text">botbridge</span>
    </span>
  );
}
