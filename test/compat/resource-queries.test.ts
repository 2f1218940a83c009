/**
 * updateFunctionCollectState, showResInstanceInfo, listBridgeVersions and listBridgeFunctions
 * through the official SDK (issue 18; interpretations in docs/sdk-interpretations.md).
 */
import { expect, test } from 'vitest'
import { PROJECT_ID } from '../helpers/strato.js'
import { fg, sdkClient, sdkError } from '../helpers/sdk.js'
import { inlineFunction } from '../helpers/code.js'
import { useStrato } from '../helpers/use-strato.js'

const strato = useStrato()
const sdk = (): any => sdkClient(strato.url)
const urn = (name: string): string =>
  `urn:fss:local-1:${PROJECT_ID}:function:default:${name}:latest`

async function tagged(name: string, tags: Record<string, string>): Promise<string> {
  const created = await strato.client.createFunction(
    inlineFunction(name, 'exports.handler = async () => 1'),
  )
  if (Object.keys(tags).length > 0) {
    await sdk().createTags(
      new fg.CreateTagsRequest()
        .withResourceType('functions')
        .withResourceId(String(created.func_id))
        .withBody(
          new fg.UpdateFunctionTagsRequestBody().withTags(
            Object.entries(tags).map(([key, value]) =>
              new fg.KvItem().withKey(key).withValue(value),
            ),
          ),
        ),
    )
  }
  return String(created.func_id)
}

test('updateFunctionCollectState marks a function collected and back; show config tells it; bad state 400, no function 404', async () => {
  await strato.client.createFunction(inlineFunction('fav', 'exports.handler = async () => 1'))
  expect((await strato.client.showConfig('fav')).collect_state).toBe(false)
  await sdk().updateFunctionCollectState(
    new fg.UpdateFunctionCollectStateRequest().withFuncUrn(urn('fav')).withState('true'),
  )
  expect((await strato.client.showConfig('fav')).collect_state).toBe(true)
  await sdk().updateFunctionCollectState(
    new fg.UpdateFunctionCollectStateRequest().withFuncUrn(urn('fav')).withState('false'),
  )
  expect((await strato.client.showConfig('fav')).collect_state).toBe(false)
  const bad = await sdkError(
    sdk().updateFunctionCollectState(
      new fg.UpdateFunctionCollectStateRequest().withFuncUrn(urn('fav')).withState('maybe'),
    ),
  )
  expect(bad.httpStatusCode).toBe(400)
  const none = await sdkError(
    sdk().updateFunctionCollectState(
      new fg.UpdateFunctionCollectStateRequest().withFuncUrn(urn('nope')).withState('true'),
    ),
  )
  expect([none.httpStatusCode, none.errorCode]).toEqual([404, 'FSS.1051'])
})

test('showResInstanceInfo filters and counts functions by tags, no tags, name and paging', async () => {
  const web = await tagged('res-web', { env: 'prod', team: 'web' })
  const api = await tagged('res-api', { env: 'dev', team: 'web' })
  const bare = await tagged('res-bare', {})
  const query = (action: string, body: any): Promise<any> =>
    sdk().showResInstanceInfo(
      new fg.ShowResInstanceInfoRequest()
        .withResourceType('functions')
        .withAction(action)
        .withBody(body),
    )
  const names = (r: { resources: Array<{ resource_name: string }> }): string[] =>
    r.resources
      .map((x) => x.resource_name)
      .filter((n) => n.startsWith('res-'))
      .sort()

  // The SDK's model has no `tags` filter; the tag service's body has: sent as plain JSON.
  const prod = await query('filter', { tags: [{ key: 'env', values: ['prod'] }] })
  expect(names(prod)).toEqual(['res-web'])
  expect(prod.resources[0]).toMatchObject({
    resource_id: web,
    resource_name: 'res-web',
    tags: [
      { key: 'env', value: 'prod' },
      { key: 'team', value: 'web' },
    ],
    resource_detail: { detailId: urn('res-web') },
  })
  const team = await query('filter', { tags: [{ key: 'team', values: [] }] })
  expect(names(team)).toEqual(['res-api', 'res-web'])
  const both = await query('filter', {
    tags: [
      { key: 'team', values: ['web'] },
      { key: 'env', values: ['dev', 'test'] },
    ],
  })
  expect(both.resources.map((r: { resource_id: string }) => r.resource_id)).toEqual([api])
  const untagged = await query(
    'filter',
    new fg.ListEnterpriseResourceRequestBody().withWithoutAnyTag(true),
  )
  expect(untagged.resources.map((r: { resource_id: string }) => r.resource_id)).toContain(bare)
  expect(names(untagged)).toEqual(['res-bare'])
  const named = await query(
    'filter',
    new fg.ListEnterpriseResourceRequestBody()
      .withWithoutAnyTag(false)
      .withMatches([new fg.KvItem().withKey('resource_name').withValue('res-')]),
  )
  expect(names(named)).toEqual(['res-api', 'res-bare', 'res-web'])
  expect(named.total_count).toBe(3)
  const paged = await query(
    'filter',
    new fg.ListEnterpriseResourceRequestBody()
      .withWithoutAnyTag(false)
      .withMatches([new fg.KvItem().withKey('resource_name').withValue('res-')])
      .withLimit('2')
      .withOffset('2'),
  )
  expect(paged.resources).toHaveLength(1)
  expect(paged.total_count).toBe(3)
  const counted = await query('count', { tags: [{ key: 'team', values: ['web'] }] })
  expect(counted).toMatchObject({ total_count: 2 })
  expect(counted.resources).toBeUndefined()
  const otherProject = await query('count', {
    sys_tags: [{ key: '_sys_enterprise_project_id', values: ['42'] }],
  })
  expect(otherProject.total_count).toBe(0)
  const badAction = await sdkError(query('list', {}))
  expect(badAction.httpStatusCode).toBe(400)
  const badType = await sdkError(
    sdk().showResInstanceInfo(
      new fg.ShowResInstanceInfoRequest()
        .withResourceType('vpcs')
        .withAction('filter')
        .withBody({}),
    ),
  )
  expect(badType.httpStatusCode).toBe(404)
})

test('listBridgeVersions and listBridgeFunctions: no service bridge here, so empty arrays; a bad type is 400, an unknown function 404', async () => {
  for (const type of ['rds', 'mqs', 'cache']) {
    const versions = await sdk().listBridgeVersions(
      new fg.ListBridgeVersionsRequest().withType(type),
    )
    expect(Array.from(versions as unknown[])).toEqual([])
  }
  const badType = await sdkError(
    sdk().listBridgeVersions(new fg.ListBridgeVersionsRequest().withType('kafka')),
  )
  expect([badType.httpStatusCode, badType.errorCode]).toEqual([400, 'FSS.1001'])
  await strato.client.createFunction(inlineFunction('bridged', 'exports.handler = async () => 1'))
  const related = await sdk().listBridgeFunctions(
    new fg.ListBridgeFunctionsRequest().withFunctionUrn(urn('bridged')),
  )
  expect(Array.from(related as unknown[])).toEqual([])
  const none = await sdkError(
    sdk().listBridgeFunctions(new fg.ListBridgeFunctionsRequest().withFunctionUrn(urn('nope'))),
  )
  expect([none.httpStatusCode, none.errorCode]).toEqual([404, 'FSS.1051'])
})
