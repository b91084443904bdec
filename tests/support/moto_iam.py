#!/usr/bin/env python3
"""Creates, in a moto server started with IAM authentication, an IAM user with
an access key, a role whose trust policy requires an ExternalId, and the user
policy allowing sts:AssumeRole. Prints the ids as JSON for the Rust test.

Usage: moto_iam.py ENDPOINT_URL
"""
import json
import sys

import boto3

endpoint = sys.argv[1]
bootstrap = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="AKIABOOTSTRAP0000000", aws_secret_access_key="bootstrap")
iam = boto3.client("iam", **bootstrap)
iam.create_user(UserName="ci")
key = iam.create_access_key(UserName="ci")["AccessKey"]
trust = {
    "Version": "2012-10-17",
    "Statement": [{
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::123456789012:user/ci"},
        "Action": ["sts:AssumeRole", "sts:TagSession"],
        "Condition": {"StringEquals": {"sts:ExternalId": "ext-123"}},
    }],
}
role = iam.create_role(RoleName="deploy", AssumeRolePolicyDocument=json.dumps(trust))["Role"]
iam.put_user_policy(UserName="ci", PolicyName="assume", PolicyDocument=json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["sts:AssumeRole", "sts:TagSession", "sts:GetCallerIdentity"], "Resource": "*"}],
}))
print(json.dumps({"access_key_id": key["AccessKeyId"], "secret_access_key": key["SecretAccessKey"], "role_arn": role["Arn"]}))
