#!/bin/sh
# Roll out groupbuy with plain kubectl, migrations first:
#   deploy/k8s/deploy.sh deploy/k8s/overlays/example
# 1. apply the config and secrets, and the migration Job alone (replacing the previous Job,
#    whose pod template is immutable), and wait for it to complete;
# 2. only then apply everything, which rolls the Deployments out on the migrated schema.
# (Argo CD does the same by itself: the Job is annotated as a PreSync hook.)
set -eu
overlay=${1:?usage: deploy.sh <kustomize directory>}
timeout=${MIGRATE_TIMEOUT:-900s}

ns=$(kubectl kustomize "$overlay" | sed -n 's/^  namespace: //p' | head -n 1)
ns=${ns:-default}

kubectl apply -k "$overlay" -l 'app.kubernetes.io/part-of=groupbuy,!app.kubernetes.io/component'
kubectl -n "$ns" delete job groupbuy-migrate --ignore-not-found --wait=true
kubectl apply -k "$overlay" -l app.kubernetes.io/component=migrate
if ! kubectl -n "$ns" wait --for=condition=complete job/groupbuy-migrate --timeout="$timeout"; then
    kubectl -n "$ns" logs job/groupbuy-migrate --tail=100 || true
    echo "migration did not complete: not rolling out" >&2
    exit 1
fi
kubectl apply -k "$overlay"
for d in groupbuy-api groupbuy-worker groupbuy-scheduler; do
    kubectl -n "$ns" rollout status "deployment/$d" --timeout=600s
done
