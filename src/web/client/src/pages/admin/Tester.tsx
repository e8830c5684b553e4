export function Tester(_props: { token: string; accountId: string; botId?: string | null }) {
  return <div className="page">TODO</div>;
}
