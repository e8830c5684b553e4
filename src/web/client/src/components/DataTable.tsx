import type { ReactNode } from 'react';

/**
 * A list's table as every console page shows one: a caption for screen readers, a header a
 * column, and a last column for the row's actions whose header only a screen reader reads (none
 * when the reader may do nothing to the rows). `children` are the rows.
 */
export function DataTable({
  caption,
  columns,
  className,
  actions = true,
  children,
}: {
  caption: ReactNode;
  columns: readonly string[];
  className?: string;
  actions?: boolean;
  children: ReactNode;
}) {
  return (
    <div className={`table-wrap${className ? ` ${className}` : ''}`}>
      <table className="data-table">
        <caption className="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            {columns.map((column) => (
              <th key={column} scope="col">
                {column}
              </th>
            ))}
            {actions && (
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            )}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}
