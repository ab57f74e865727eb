import { RemovalPolicy } from 'aws-cdk-lib';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import type { BrokerFunction } from './broker-function.ts';

/** Props of {@link CredentialsVault}. */
export interface CredentialsVaultProps {
  /** Functions that seal STS credentials for later collection: kms:Encrypt only. */
  readonly sealers: readonly BrokerFunction[];
  /** Functions that open sealed credentials for the requester: kms:Decrypt only. */
  readonly openers: readonly BrokerFunction[];
  /**
   * What happens to the key when the stack is deleted. What it seals are STS credentials that expire
   * within hours: nothing outlives the stack that needs it.
   * @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The KMS key (rotating) that seals STS credentials until the requester collects them, and its grants:
 * the sealers may only encrypt, the openers may only decrypt, so no function both seals and opens.
 *
 * The key is created in `scope` with the id `CredentialsKey`, as it was before the vault became its own
 * construct: its logical id, and so the deployed key, stay the same.
 */
export class CredentialsVault extends Construct {
  public readonly key: Key;

  constructor(scope: Construct, id: string, props: CredentialsVaultProps) {
    super(scope, id);
    const both = props.sealers.filter((fn) => props.openers.includes(fn));
    if (both.length > 0) {
      throw new Error(
        `CredentialsVault: ${both.map((fn) => fn.node.path).join(', ')} may not both seal and open`,
      );
    }
    this.key = new Key(scope, 'CredentialsKey', {
      description: 'JIT broker: seals STS credentials until the requester collects them',
      enableKeyRotation: true,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.DESTROY,
    });
    for (const fn of props.sealers) fn.bindVaultKey(this.key, 'encrypt');
    for (const fn of props.openers) fn.bindVaultKey(this.key, 'decrypt');
  }
}
