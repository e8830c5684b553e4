/** What a Custom Endpoint service checks in the platform's app JWTs (LivePerson's Sentinel, and botbridge's). */

/** The `iss` of every token Sentinel signs. */
export const SENTINEL_ISSUER = 'Sentinel';
/** The `scope` of a Custom Endpoint bot's app token. */
export const CUSTOM_ENDPOINT_SCOPE = 'thirdpartybots.customendpoint.bot';
