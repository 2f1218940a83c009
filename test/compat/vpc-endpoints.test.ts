/**
 * VPC access through the official SDK (issue 18): `createVpcEndpoint` and `deleteVpcEndpoint` over
 * the operator's named networks (`STRATO_NETWORKS`), kept across a restart, and `func_vpc` on
 * create function and update config refused at once when its `vpc_id` names no network.
 * No traffic leaves loopback: nothing here starts an instance.
 */
import { afterAll, beforeAll, expect, test } from 'vitest'
import { PROJECT_ID, startTestStrato, tmpDir, type TestStrato } from '../helpers/strato.js'
import { fg, sdkClient, sdkError } from '../helpers/sdk.js'
import { b64 } from '../helpers/code.js'

const NETWORKS = JSON.stringify({
  db: ['127.0.0.1:5432'],
  corp: ['10.20.0.0/16', '10.30.1.5:8080'],
})
const ENV = { STRATO_NETWORKS: NETWORKS, STRATO_EGRESS_SUBNET: '10.208.0.0/12' }
const dataDir = tmpDir('strato-vpcep-')
let strato: TestStrato

beforeAll(async () => {
  strato = await startTestStrato(ENV, dataDir)
})

afterAll(async () => {
  await strato?.close()
})

const urn = (name: string): string =>
  `urn:fss:local-1:${PROJECT_ID}:function:default:${name}:latest`

function createEndpoint(vpcId: string, subnetId: string): Promise<Record<string, unknown>> {
  return sdkClient(strato.url).createVpcEndpoint(
    new fg.CreateVpcEndpointRequest().withBody(
      new fg.CreateVpcEndpointRequestBody()
        .withVpcId(vpcId)
        .withSubnetId(subnetId)
        .withFlavor('standard'),
    ),
  )
}

function deleteEndpoint(vpcId: string, subnetId: string): Promise<{ httpStatusCode: number }> {
  return sdkClient(strato.url).deleteVpcEndpoint(
    new fg.DeleteVpcEndpointRequest().withVpcId(vpcId).withSubnetId(subnetId),
  )
}

function createFunction(name: string, funcVpc?: object): Promise<Record<string, unknown>> {
  const body = new fg.CreateFunctionRequestBody()
    .withFuncName(name)
    .withPackage('default')
    .withRuntime('Node.js18.15')
    .withHandler('index.handler')
    .withMemorySize(128)
    .withTimeout(30)
    .withCodeType('inline')
    .withFuncCode(new fg.FuncCode().withFile(b64('exports.handler = async () => "ok"')))
  if (funcVpc !== undefined) {
    body.withFuncVpc(funcVpc)
  }
  return sdkClient(strato.url).createFunction(new fg.CreateFunctionRequest().withBody(body))
}

function updateConfig(name: string, funcVpc?: object): Promise<Record<string, unknown>> {
  const body = new fg.UpdateFunctionConfigRequestBody()
    .withFuncName(name)
    .withRuntime('Node.js18.15')
    .withHandler('index.handler')
    .withMemorySize(256)
    .withTimeout(30)
  if (funcVpc !== undefined) {
    body.withFuncVpc(funcVpc)
  }
  return sdkClient(strato.url).updateFunctionConfig(
    new fg.UpdateFunctionConfigRequest().withFunctionUrn(urn(name)).withBody(body),
  )
}

function configOf(name: string): Promise<Record<string, unknown>> {
  return sdkClient(strato.url).showFunctionConfig(
    new fg.ShowFunctionConfigRequest().withFunctionUrn(urn(name)),
  )
}

const vpc = (vpcId: string, subnetId: string): object =>
  new fg.FuncVpc().withVpcId(vpcId).withSubnetId(subnetId)

test('createVpcEndpoint on a defined network answers what it opens and where functions reach it', async () => {
  const db = await createEndpoint('db', 'subnet-a')
  expect(db.httpStatusCode).toBe(200)
  // The host's loopback service is reached by the gateway's name, on the same port.
  expect(db).toMatchObject({
    endpoints: ['host.strato.internal:5432'],
    address: 'host.strato.internal',
  })
  const corp = await createEndpoint('corp', 'subnet-b')
  // No host service: the instances' gateway (the subnet's second address) is the way out.
  expect(corp).toMatchObject({
    endpoints: ['10.20.0.0/16', '10.30.1.5:8080'],
    address: '10.208.0.1',
  })
  // Creating it again is the same endpoint, not a conflict.
  expect(await createEndpoint('db', 'subnet-a')).toMatchObject({ httpStatusCode: 200 })
})

test('createVpcEndpoint on a network the operator did not define is 400 naming it and the defined ones', async () => {
  const err = await sdkError(createEndpoint('nope', 'subnet-a'))
  expect([err.httpStatusCode, err.errorCode]).toEqual([400, 'FSS.0400'])
  expect(err.errorMsg).toContain("network 'nope'")
  expect(err.errorMsg).toContain("'db', 'corp'")
  const badSubnet = await sdkError(createEndpoint('db', 'a/b'))
  expect([badSubnet.httpStatusCode, badSubnet.errorCode]).toEqual([400, 'FSS.0400'])
  expect(badSubnet.errorMsg).toContain('subnet_id')
})

test('deleteVpcEndpoint answers 204 for a kept endpoint, after a restart too, and 404 for an unknown one', async () => {
  await createEndpoint('corp', 'subnet-kept')
  await strato.close()
  strato = await startTestStrato(ENV, dataDir)
  expect((await deleteEndpoint('corp', 'subnet-kept')).httpStatusCode).toBe(204)
  const again = await sdkError(deleteEndpoint('corp', 'subnet-kept'))
  expect([again.httpStatusCode, again.errorCode]).toEqual([404, 'FSS.0404'])
  // The key is the project, the network and the subnet: another subnet is another endpoint.
  const other = await sdkError(deleteEndpoint('db', 'subnet-other'))
  expect([other.httpStatusCode, other.errorCode]).toEqual([404, 'FSS.0404'])
  const unknown = await sdkError(deleteEndpoint('nope', 'subnet-a'))
  expect(unknown.httpStatusCode).toBe(404)
  // Both methods are management calls: the audit trail has them, the refused one with its code.
  const page = (await strato.client.listTraces({
    resource_type: 'vpc_endpoint',
    limit: '200',
  })) as {
    traces: Array<{ trace_name: string; resource_id: string; code: string }>
  }
  const deletes = page.traces
    .filter((t) => t.trace_name === 'deleteVpcEndpoint')
    .map((t) => [t.resource_id, t.code])
  expect(deletes).toEqual(
    expect.arrayContaining([
      ['corp/subnet-kept', '204'],
      ['corp/subnet-kept', '404'],
    ]),
  )
  expect(page.traces.some((t) => t.trace_name === 'createVpcEndpoint')).toBe(true)
})

test('a function whose func_vpc names no network is refused at once; a defined one is accepted without an endpoint', async () => {
  const refused = await sdkError(createFunction('vpc-unknown', vpc('nope', 'subnet-a')))
  expect([refused.httpStatusCode, refused.errorCode]).toEqual([400, 'FSS.0400'])
  expect(refused.errorMsg).toContain("func_vpc.vpc_id names network 'nope'")
  expect(refused.errorMsg).toContain("'db', 'corp'")
  const notThere = await sdkError(configOf('vpc-unknown'))
  expect(notThere.httpStatusCode).toBe(404)

  // `corp` has no endpoint (the last was deleted above): the network is usable directly.
  const created = await createFunction('vpc-corp', vpc('corp', 'subnet-c'))
  expect(created.httpStatusCode).toBe(200)
  expect(created.func_vpc).toMatchObject({ vpc_id: 'corp', subnet_id: 'subnet-c' })
  expect((await configOf('vpc-corp')).func_vpc).toMatchObject({
    vpc_id: 'corp',
    subnet_id: 'subnet-c',
  })
})

test('update config refuses a func_vpc naming no network and keeps the stored one; without func_vpc it keeps it too', async () => {
  await createFunction('vpc-update', vpc('db', 'subnet-d'))
  const refused = await sdkError(updateConfig('vpc-update', vpc('gone', 'subnet-d')))
  expect([refused.httpStatusCode, refused.errorCode]).toEqual([400, 'FSS.0400'])
  expect(refused.errorMsg).toContain("network 'gone'")
  const kept = await configOf('vpc-update')
  expect(kept.func_vpc).toMatchObject({ vpc_id: 'db', subnet_id: 'subnet-d' })
  expect(kept.memory_size).toBe(128)

  const moved = await updateConfig('vpc-update', vpc('corp', 'subnet-e'))
  expect(moved.httpStatusCode).toBe(200)
  expect((await configOf('vpc-update')).func_vpc).toMatchObject({
    vpc_id: 'corp',
    subnet_id: 'subnet-e',
  })
  await updateConfig('vpc-update')
  const after = await configOf('vpc-update')
  expect(after.func_vpc).toMatchObject({ vpc_id: 'corp', subnet_id: 'subnet-e' })
  expect(after.memory_size).toBe(256)
})
