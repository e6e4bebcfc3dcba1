/** `aws-s3` → `awsS3` (the definition's export name) and `AwsS3` (type prefix). */
export function connectorNames(id) {
  const camel = id.replace(/-([a-z0-9])/g, (_, c) => c.toUpperCase());
  return { camel, pascal: camel[0].toUpperCase() + camel.slice(1) };
}
